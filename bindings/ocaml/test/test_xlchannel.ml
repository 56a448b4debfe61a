(* The OCaml bindings against the real Xen 4.17 xenstored of the test bed:
     testbed/with-xenstored.sh --no-preload dune test --root bindings/ocaml --force
   Guests are registered with the xenstore-write / xenstore-chmod commands as a toolstack
   leaves them at domain creation (c-tests/xs_helpers.h). Ends with the line
   "ocaml-bindings: N passed, M failed" and exits 1 if anything failed. *)

open Xlchannel

(* OCaml 4.13 has no In_channel / Out_channel modules. *)
module In_channel_compat = struct
  let read_all ic =
    let b = Buffer.create 256 and chunk = Bytes.create 4096 in
    let rec go () =
      let n = input ic chunk 0 (Bytes.length chunk) in
      if n > 0 then begin
        Buffer.add_subbytes b chunk 0 n;
        go ()
      end
    in
    go ();
    Buffer.contents b
end

module Out_channel_compat = struct
  let write_file path text =
    let oc = open_out_bin path in
    output_string oc text;
    close_out oc
end

let passed = ref 0
let failed = ref 0

let check what cond =
  if cond then incr passed
  else begin
    incr failed;
    Printf.printf "FAILED: %s\n%!" what
  end

let check_eq what show got want =
  if got = want then incr passed
  else begin
    incr failed;
    Printf.printf "FAILED: %s\n  got:  %s\n  want: %s\n%!" what (show got) (show want)
  end

let check_int what got want = check_eq what string_of_int got want
let check_str what got want = check_eq what (Printf.sprintf "%S") got want

let show_opt = function None -> "None" | Some s -> Printf.sprintf "Some %S" s
let check_opt what got want = check_eq what show_opt got want

let show_result show = function
  | Ok v -> "Ok " ^ show v
  | Error e -> "Error " ^ string_of_error e

let show_channel (c : Device_channel.t) =
  Printf.sprintf "{backend_domid=%d; backend_domname=%s; devid=%d; name=%s; connection=%s}"
    c.backend_domid (show_opt c.backend_domname) c.devid (show_opt c.name)
    (match c.connection with
    | Unknown -> "Unknown"
    | Pty -> "Pty"
    | Socket p -> "Socket " ^ show_opt p)

let show_info (i : Channelinfo.t) =
  Printf.sprintf
    "{backend=%s; backend_id=%d; frontend=%s; frontend_id=%d; devid=%d; state=%d; evtch=%d; \
     rref=%d; connection=%s}"
    (show_opt i.backend) i.backend_id (show_opt i.frontend) i.frontend_id i.devid i.state
    i.evtch i.rref
    (match i.connection with
    | Unknown -> "Unknown"
    | Socket -> "Socket"
    | Pty p -> "Pty " ^ show_opt p)

let show_list show l = "[" ^ String.concat "; " (List.map show l) ^ "]"

(* The value of an Ok, or a failed check and None. *)
let expect_ok what = function
  | Ok v ->
      incr passed;
      Some v
  | Error e ->
      incr failed;
      Printf.printf "FAILED: %s\n  got:  Error %s\n%!" what (string_of_error e);
      None

(* An Error with this code (and its message containing [contains], if given). *)
let expect_error ?contains what show want = function
  | Error e ->
      check_eq (what ^ ": code") string_of_error_code e.code want;
      Option.iter
        (fun sub ->
          let n = String.length sub and m = String.length e.message in
          let rec found i = i + n <= m && (String.sub e.message i n = sub || found (i + 1)) in
          check (Printf.sprintf "%s: message %S contains %S" what e.message sub) (found 0))
        contains
  | Ok v ->
      incr failed;
      Printf.printf "FAILED: %s\n  got:  Ok %s\n  want: Error %s\n%!" what (show v)
        (string_of_error_code want)

let contains s sub =
  let n = String.length sub and m = String.length s in
  let rec go i = i + n <= m && (String.sub s i n = sub || go (i + 1)) in
  go 0

(* ---- xenstore through its command-line tools ---- *)

let run_tool prog args =
  let pid =
    Unix.create_process prog (Array.of_list (prog :: args)) Unix.stdin Unix.stdout Unix.stderr
  in
  match snd (Unix.waitpid [] pid) with
  | Unix.WEXITED 0 -> ()
  | _ ->
      let shown = String.concat " " args in
      let shown = if String.length shown > 200 then String.sub shown 0 200 ^ "..." else shown in
      failwith (Printf.sprintf "%s %s failed" prog shown)

(* "--": values such as "-2" are not options. *)
let xs_write path value = run_tool "xenstore-write" [ "--"; path; value ]
let xs_chmod path perms = run_tool "xenstore-chmod" ("--" :: path :: perms)
let xs_rm path = run_tool "xenstore-rm" [ "--"; path ]

(* The value at path, or None when there is no such node. *)
let xs_read path =
  let ic, oc, ec =
    Unix.open_process_args_full "xenstore-read" [| "xenstore-read"; "--"; path |] (Unix.environment ())
  in
  close_out oc;
  let out = In_channel_compat.read_all ic in
  ignore (In_channel_compat.read_all ec);
  match Unix.close_process_full (ic, oc, ec) with
  | Unix.WEXITED 0 ->
      (* xenstore-read ends the value with a newline *)
      let n = String.length out in
      Some (if n > 0 && out.[n - 1] = '\n' then String.sub out 0 (n - 1) else out)
  | _ -> None

(* /local/domain/<domid> owned by dom0 and readable by the guest, its name and domid, and a
   read-only device directory. *)
let register_domain domid name =
  let d = Printf.sprintf "/local/domain/%d" domid in
  let guest_reads = [ "n0"; Printf.sprintf "r%d" domid ] in
  xs_write d "";
  xs_chmod d guest_reads;
  xs_write (d ^ "/name") name;
  xs_write (d ^ "/domid") (string_of_int domid);
  xs_write (d ^ "/device") "";
  xs_chmod (d ^ "/device") guest_reads

(* ---- a real qemu as a domain's device model ----
   As c-tests/qemu_helpers.h: qemu-system-x86_64 -machine none -nodefaults -display none,
   libxl's QMP socket at $XLCHANNEL_RUN_DIR/qmp-libxl-<domid> (the library's) and a second
   one for the test's own questions (a QMP socket serves one client at a time). Every wait
   is bounded; qemu runs under timeout(1) and is stopped at exit (and by the alarm's
   handler), so it cannot outlive the test. *)

let run_dir =
  let d = Printf.sprintf "%s/xlchannel-ocaml.%d" (Filename.get_temp_dir_name ()) (Unix.getpid ()) in
  Unix.mkdir d 0o700;
  Unix.putenv "XLCHANNEL_RUN_DIR" d;
  d

type qemu = { pid : int; domid : int; libxl_qmp : string; fd : Unix.file_descr; pending : Buffer.t }

let qemus : qemu list ref = ref []

let wait_gone pid seconds =
  let deadline = Unix.gettimeofday () +. seconds in
  let rec go () =
    match Unix.waitpid [ Unix.WNOHANG ] pid with
    | 0, _ when Unix.gettimeofday () < deadline -> Unix.sleepf 0.02; go ()
    | 0, _ -> false
    | _ -> true
    | exception Unix.Unix_error (Unix.ECHILD, _, _) -> true
  in
  go ()

let stop_qemu q =
  qemus := List.filter (fun x -> x.pid <> q.pid) !qemus;
  let quit = "{\"execute\": \"quit\"}\n" in
  (try ignore (Unix.write_substring q.fd quit 0 (String.length quit)) with _ -> ());
  (try Unix.close q.fd with _ -> ());
  if not (wait_gone q.pid 5.) then begin
    (try Unix.kill q.pid Sys.sigterm with _ -> ());
    if not (wait_gone q.pid 5.) then begin
      (try Unix.kill q.pid Sys.sigkill with _ -> ());
      ignore (wait_gone q.pid 5.)
    end
  end;
  List.iter (fun p -> try Unix.unlink p with _ -> ()) [ q.libxl_qmp; Printf.sprintf "%s/qmp-test-%d" run_dir q.domid ]

let () =
  at_exit (fun () ->
      List.iter stop_qemu !qemus;
      ignore (Sys.command (Printf.sprintf "rm -rf %s" (Filename.quote run_dir))))

(* One line from qemu within 10 s, or Failure. *)
let rec qmp_line q =
  let text = Buffer.contents q.pending in
  match String.index_opt text '\n' with
  | Some i ->
      Buffer.clear q.pending;
      Buffer.add_string q.pending (String.sub text (i + 1) (String.length text - i - 1));
      String.trim (String.sub text 0 i)
  | None ->
      (match Unix.select [ q.fd ] [] [] 10. with
       | [], _, _ -> failwith "qemu said nothing for 10 s"
       | _ ->
           let b = Bytes.create 65536 in
           let n = Unix.read q.fd b 0 (Bytes.length b) in
           if n = 0 then failwith "qemu closed its QMP socket";
           Buffer.add_subbytes q.pending b 0 n);
      qmp_line q

(* A command's reply line ({"return"... or {"error"...), events skipped. *)
let qmp q command =
  ignore (Unix.write_substring q.fd (command ^ "\n") 0 (String.length command + 1));
  let rec reply () =
    let l = qmp_line q in
    if String.starts_with ~prefix:"{\"return\"" l || String.starts_with ~prefix:"{\"error\"" l then l
    else reply ()
  in
  reply ()

let start_qemu domid =
  let libxl_qmp = Printf.sprintf "%s/qmp-libxl-%d" run_dir domid in
  let test_qmp = Printf.sprintf "%s/qmp-test-%d" run_dir domid in
  let log = Unix.openfile (Printf.sprintf "%s/qemu-%d.log" run_dir domid) [ Unix.O_WRONLY; Unix.O_CREAT; Unix.O_TRUNC ] 0o600 in
  let null = Unix.openfile "/dev/null" [ Unix.O_RDONLY ] 0 in
  let qemu = Option.value (Sys.getenv_opt "XLCHANNEL_QEMU") ~default:"qemu-system-x86_64" in
  let args =
    [| "timeout"; "300"; qemu; "-machine"; "none"; "-nodefaults"; "-display"; "none"; "-qmp";
       Printf.sprintf "unix:%s,server=on,wait=off" libxl_qmp; "-qmp";
       Printf.sprintf "unix:%s,server=on,wait=off" test_qmp |]
  in
  (* valgrind's preload is not qemu's business *)
  let env = Array.of_list (List.filter (fun e -> not (String.starts_with ~prefix:"LD_PRELOAD=" e))
                             (Array.to_list (Unix.environment ()))) in
  let pid = Unix.create_process_env "timeout" args env null log log in
  Unix.close null;
  Unix.close log;
  let deadline = Unix.gettimeofday () +. 10. in
  let rec connect () =
    let fd = Unix.socket ~cloexec:true Unix.PF_UNIX Unix.SOCK_STREAM 0 in
    match Unix.connect fd (Unix.ADDR_UNIX test_qmp) with
    | () -> fd
    | exception Unix.Unix_error _ ->
        Unix.close fd;
        if Unix.gettimeofday () > deadline || fst (Unix.waitpid [ Unix.WNOHANG ] pid) <> 0 then
          failwith ("qemu made no QMP socket for domain " ^ string_of_int domid)
        else (Unix.sleepf 0.02; connect ())
  in
  let q = { pid; domid; libxl_qmp; fd = connect (); pending = Buffer.create 4096 } in
  qemus := q :: !qemus;
  ignore (qmp_line q : string) (* the greeting *);
  if qmp q "{\"execute\": \"qmp_capabilities\"}" <> "{\"return\": {}}" then failwith "qmp_capabilities";
  q

(* query-chardev: the filename of chardev [label], or None when qemu has none. *)
let chardev_filename q label =
  let reply = qmp q "{\"execute\": \"query-chardev\"}" in
  let find sub from =
    let n = String.length sub and m = String.length reply in
    let rec go i = if i + n > m then None else if String.sub reply i n = sub then Some i else go (i + 1) in
    go from
  in
  match find (Printf.sprintf "\"label\": \"%s\"" label) 0 with
  | None -> None
  | Some at ->
      let rec open_brace i = if i <= 0 || reply.[i] = '{' then i else open_brace (i - 1) in
      let key = "\"filename\": \"" in
      (match find key (open_brace at) with
       | Some f when f < at ->
           let start = f + String.length key in
           let stop = String.index_from reply start '"' in
           Some (String.sub reply start (stop - start))
       | _ -> None)

(* The position of [sub] in [s] at or after [from], without allocating. *)
let find_sub s sub from =
  let n = String.length sub and m = String.length s in
  let rec at i j = j = n || (s.[i + j] = sub.[j] && at i (j + 1)) in
  let rec go i = if i + n > m then None else if at i 0 then Some i else go (i + 1) in
  go from

(* The labels query-chardev lists. *)
let chardev_labels q =
  let reply = qmp q "{\"execute\": \"query-chardev\"}" in
  let key = "\"label\": \"" in
  let rec go from acc =
    match find_sub reply key from with
    | None -> acc
    | Some i ->
        let start = i + String.length key in
        let stop = String.index_from reply start '"' in
        go stop (String.sub reply start (stop - start) :: acc)
  in
  go 0 []

let qemu_of domid = List.find (fun q -> q.domid = domid) !qemus

(* The pty qemu made for console [devid] of [domid]. *)
let qemu_pty domid devid =
  match chardev_filename (qemu_of domid) (Printf.sprintf "libxl-channel%d" devid) with
  | Some f when String.starts_with ~prefix:"pty:" f -> Some (String.sub f 4 (String.length f - 4))
  | _ -> None

(* ---- tests ---- *)

let test_abi () =
  check "Abi.check: the header's sizes, offsets and constants are the bindings'"
    (match Abi.check () with
    | Ok () -> true
    | Error mismatches ->
        List.iter (Printf.printf "  layout mismatch: %s\n") mismatches;
        false);
  let header = Abi.header_layout () in
  check_int "layout: as many values from C as names" (List.length header)
    (List.length Abi.layout_names);
  List.iter2
    (fun (name, h) (_, want) -> check_int ("header " ^ name) h want)
    header Abi.expected_layout;
  let constants = Abi.header_constants () in
  List.iter2
    (fun (name, h) (_, want) -> check_int ("header " ^ name) h want)
    constants Abi.expected_constants;
  check_int "sizeof(libxl_device_channel) from C" (List.assoc "sizeof(libxl_device_channel)" header) 48;
  check_int "offsetof(libxl_channelinfo, u.pty.path) from C"
    (List.assoc "offsetof(libxl_channelinfo, u.pty.path)" header) 48;
  check_int "ERROR_DEVICE_EXISTS from C" (List.assoc "ERROR_DEVICE_EXISTS" constants) (-17);
  check_int "Abi.expected_constants names every error code"
    (List.length (List.filter (fun (n, _) -> String.length n > 6 && String.sub n 0 6 = "ERROR_") constants))
    32

let test_error_codes () =
  List.iteri
    (fun i code ->
      check_int ("int_of_error_code " ^ string_of_error_code code) (int_of_error_code code) (-(i + 1));
      check (string_of_error_code code ^ " round trip") (error_code_of_int (-(i + 1)) = code))
    all_error_codes;
  check "Other_error 5" (error_code_of_int 5 = Other_error 5);
  check "Other_error -33" (error_code_of_int (-33) = Other_error (-33));
  check_int "Inval" (int_of_error_code Inval) (-6);
  check_int "Device_exists" (int_of_error_code Device_exists) (-17);
  check_int "Domain_notfound" (int_of_error_code Domain_notfound) (-21);
  check_str "string_of_error"
    (string_of_error { code = Inval; message = "m" })
    "ERROR_INVAL (-6): m";
  check "ok_exn raises Libxl_error"
    (match ok_exn (Error { code = Fail; message = "x" }) with
    | () -> false
    | exception Libxl_error { code = Fail; message = "x" } -> true);
  check_int "ok_exn passes Ok" (ok_exn (Ok 3)) 3

let test_connection () =
  check_str "to_string Pty" (Channel_connection.to_string Pty) "pty";
  check_str "to_string Socket" (Channel_connection.to_string Socket) "socket";
  check_str "to_string Unknown" (Channel_connection.to_string Unknown) "unknown";
  check "of_string PTY (case-insensitive)" (Channel_connection.of_string "PTY" = Ok Pty);
  check "of_string socket" (Channel_connection.of_string "socket" = Ok Socket);
  expect_error "of_string serial" Channel_connection.to_string Fail
    (Channel_connection.of_string "serial");
  expect_error "of_string with a NUL" Channel_connection.to_string Inval
    (Channel_connection.of_string "pty\000x")

let test_contexts () =
  let baseline = live_contexts () in
  (match ctx_alloc () with
  | Error e -> check ("ctx_alloc: " ^ string_of_error e) false
  | Ok ctx ->
      check_int "a context exists" (live_contexts ()) (baseline + 1);
      check "ctx_free" (ctx_free ctx = Ok ());
      check_int "ctx_free freed it" (live_contexts ()) baseline;
      check "ctx_free again (idempotent)" (ctx_free ctx = Ok ());
      expect_error ~contains:"freed" "list on a freed context" (show_list show_channel) Inval
        (Device_channel.list ctx ~domid:0);
      expect_error ~contains:"freed" "parse_spec on a freed context"
        (fun (c, _) -> show_channel c)
        Inval
        (Config.parse_spec ctx "connection=pty"));
  (* with_context frees the context also when the function raises. *)
  let kept = ref None in
  (match
     with_context (fun ctx ->
         kept := Some ctx;
         failwith "boom")
   with
  | _ -> check "with_context re-raises" false
  | exception Failure m -> check_str "with_context re-raises" m "boom");
  check_int "with_context freed its context (raised)" (live_contexts ()) baseline;
  (match !kept with
  | Some ctx ->
      expect_error ~contains:"freed" "context after with_context raised"
        (show_list show_channel) Inval
        (Device_channel.list ctx ~domid:0)
  | None -> check "with_context ran the function" false);
  (* ... and when it returns. *)
  let kept = ref None in
  check "with_context returns the function's result"
    (with_context (fun ctx ->
         kept := Some ctx;
         Ok 42)
    = Ok 42);
  (match !kept with
  | Some ctx ->
      expect_error "context after with_context returned" (show_list show_channel) Inval
        (Device_channel.list ctx ~domid:0)
  | None -> ());
  check "with_context passes the function's error"
    (with_context (fun _ -> Error { code = Notfound; message = "m" })
    = Error { code = Notfound; message = "m" });
  check_int "with_context freed its context (returned)" (live_contexts ()) baseline;
  (* Contexts left to the GC are freed by the finaliser. *)
  for _ = 1 to 50 do
    ignore (Sys.opaque_identity (ctx_alloc ()))
  done;
  check "50 contexts left to the GC" (live_contexts () > baseline);
  Gc.full_major ();
  check_int "the finaliser freed them" (live_contexts ()) baseline;
  (* No daemon: libxl_ctx_alloc's failure, its logged reason. *)
  let saved = Sys.getenv "XENSTORED_PATH" in
  Unix.putenv "XENSTORED_PATH" "/nonexistent/xenstored.sock";
  let logged = ref [] in
  expect_error ~contains:"cannot connect to xenstore" "ctx_alloc without a daemon"
    (fun _ -> "context") Fail
    (ctx_alloc ~logger:(fun m -> logged := m :: !logged) ());
  check "the logger saw ctx_alloc's error"
    (List.exists (fun (m : Log.message) -> m.level = Log.Error && m.context = "libxl") !logged);
  expect_error "with_context without a daemon" string_of_int Fail
    (with_context (fun _ -> Ok 1));
  check_int "a failed ctx_alloc leaves no context" (live_contexts ()) baseline;
  Unix.putenv "XENSTORED_PATH" saved

let pty name = Device_channel.make ~name Pty
let socket name path = Device_channel.make ~name (Socket (Some path))

let add ctx domid ch = Device_channel.add ctx ~domid ch

let devid_of what r = match expect_ok what r with Some (c : Device_channel.t) -> c.devid | None -> -99

(* Guest 5's socket channel: qemu creates it. *)
let sock5 = run_dir ^ "/x y,z.sock"

let test_add ctx =
  register_domain 5 "guest5";
  let q5 = start_qemu 5 in
  check_int "add pty: first free console devid" (devid_of "add pty" (add ctx 5 (pty "org.example.pty"))) 1;
  let fe = "/local/domain/5/device/console/1" and be = "/local/domain/0/backend/console/5/1" in
  check_opt "frontend name" (xs_read (fe ^ "/name")) (Some "org.example.pty");
  check_opt "frontend output" (xs_read (fe ^ "/output")) (Some "pty");
  check_opt "frontend backend" (xs_read (fe ^ "/backend")) (Some be);
  check_opt "backend connection" (xs_read (be ^ "/connection")) (Some "pty");
  check_opt "libxl copy name" (xs_read "/libxl/5/device/console/1/name") (Some "org.example.pty");
  (match expect_ok "add socket" (add ctx 5 (socket "org.example.sock" sock5)) with
  | Some c ->
      check_int "add socket: devid 2" c.devid 2;
      check_int "add socket: backend_domid" c.backend_domid 0;
      check "add socket: connection kept" (c.connection = Socket (Some sock5))
  | None -> ());
  check_opt "socket output" (xs_read "/local/domain/5/device/console/2/output")
    (Some "chardev:libxl-channel2");
  check_opt "socket path in backend" (xs_read "/local/domain/0/backend/console/5/2/path")
    (Some sock5);
  (* hot-added: qemu has both chardevs, listening on the socket the moment add returned *)
  check_opt "qemu's socket chardev" (chardev_filename q5 "libxl-channel2")
    (Some (Printf.sprintf "disconnected:unix:%s,server=on" sock5));
  check "qemu's pty chardev, as the frontend's tty records it"
    (qemu_pty 5 1 <> None && qemu_pty 5 1 = xs_read "/local/domain/5/device/console/1/tty");
  check "the socket accepts a connection"
    (let fd = Unix.socket Unix.PF_UNIX Unix.SOCK_STREAM 0 in
     Fun.protect ~finally:(fun () -> Unix.close fd) (fun () ->
         match Unix.connect fd (Unix.ADDR_UNIX sock5) with () -> true | exception _ -> false));
  (* Explicit devids: a gap is kept and filled later; an existing one is refused. *)
  check_int "explicit devid 4"
    (devid_of "add devid 4" (add ctx 5 (Device_channel.make ~devid:4 ~name:"org.example.four" Pty)))
    4;
  check_int "devid -1 fills the gap"
    (devid_of "add devid -1" (add ctx 5 (pty "org.example.three")))
    3;
  expect_error ~contains:"Unable to add channel device" "duplicate devid 2" show_channel
    Device_exists
    (add ctx 5 (Device_channel.make ~devid:2 ~name:"dup" Pty));
  check "duplicate: error code is -17"
    (match add ctx 5 (Device_channel.make ~devid:2 ~name:"dup" Pty) with
    | Error e -> int_of_error_code e.code = -17
    | Ok _ -> false);
  (* A backend domain by name (resolved, written back) and by number: xenstore only, so
     guest 6 needs no device model. *)
  register_domain 3 "driver-dom";
  register_domain 6 "guest6";
  (match
     expect_ok "add with backend_domname"
       (add ctx 6 (Device_channel.make ~backend_domname:"driver-dom" ~name:"org.example.drv" Pty))
   with
  | Some c ->
      check_int "backend_domid resolved" c.backend_domid 3;
      check_int "backend devid" c.devid 1
  | None -> ());
  check_opt "driver domain's backend" (xs_read "/local/domain/3/backend/console/6/1/frontend-id")
    (Some "6");
  ignore
    (expect_ok "add with backend number"
       (add ctx 6 (Device_channel.make ~backend_domname:"3" ~name:"org.example.num" Pty)))

let test_add_errors ctx =
  let no_name = { Device_channel.default with connection = Pty } in
  expect_error ~contains:"Unable to add channel device" "missing name" show_channel Inval
    (add ctx 5 no_name);
  check "missing name: code -6"
    (match add ctx 5 no_name with Error e -> int_of_error_code e.code = -6 | Ok _ -> false);
  check "missing name: everything logged is in last_messages"
    (List.length (last_messages ctx) >= 2);
  expect_error "socket without a path" show_channel Inval
    (add ctx 5 (Device_channel.make ~name:"n" (Socket None)));
  expect_error "unknown connection" show_channel Inval
    (add ctx 5 (Device_channel.make ~name:"n" Unknown));
  expect_error "devid 0 (the primary console)" show_channel Inval
    (add ctx 5 (Device_channel.make ~devid:0 ~name:"n" Pty));
  expect_error "devid -2" show_channel Inval
    (add ctx 5 (Device_channel.make ~devid:(-2) ~name:"n" Pty));
  expect_error "unknown backend domain" show_channel Inval
    (add ctx 5 (Device_channel.make ~backend_domname:"no-such-dom" ~name:"n" Pty));
  expect_error ~contains:"Unable to add channel device" "unknown domain 77" show_channel
    Domain_notfound (add ctx 77 (pty "n"));
  check "unknown domain: code -21"
    (match add ctx 77 (pty "n") with Error e -> int_of_error_code e.code = -21 | Ok _ -> false);
  check_opt "nothing written for domain 77" (xs_read "/libxl/77") None;
  (* What the C types cannot hold: refused by the stubs, before libxl. *)
  expect_error ~contains:"not a 32-bit unsigned" "domid -1" show_channel Inval (add ctx (-1) (pty "n"));
  expect_error ~contains:"not a 32-bit unsigned" "domid 2^32" show_channel Inval
    (add ctx (1 lsl 32) (pty "n"));
  expect_error ~contains:"not a 32-bit signed" "devid 2^31" show_channel Inval
    (add ctx 5 (Device_channel.make ~devid:(1 lsl 31) ~name:"n" Pty));
  expect_error ~contains:"not a 32-bit unsigned" "backend_domid -5" show_channel Inval
    (add ctx 5 { (pty "n") with backend_domid = -5 });
  expect_error ~contains:"name contains a NUL byte" "name with a NUL" show_channel Inval
    (add ctx 5 (pty "org.a\000b"));
  expect_error ~contains:"socket path contains a NUL byte" "path with a NUL" show_channel Inval
    (add ctx 5 (socket "n" "/run/a\000b"));
  check_opt "nothing written by the failures" (xs_read "/libxl/5/device/console/5") None;
  check "a failed call is not an exception, and the context still works"
    (Result.is_ok (Device_channel.list ctx ~domid:5))

let test_list_and_getinfo ctx =
  match expect_ok "list domain 5" (Device_channel.list ctx ~domid:5) with
  | None -> ()
  | Some l ->
      check_eq "list: names in xenstore order" (show_list show_opt)
        (List.map (fun (c : Device_channel.t) -> c.name) l)
        (List.map Option.some
           [ "org.example.pty"; "org.example.sock"; "org.example.four"; "org.example.three" ]);
      check_eq "list: renumbered 0..3" (show_list string_of_int)
        (List.map (fun (c : Device_channel.t) -> c.devid) l)
        [ 0; 1; 2; 3 ];
      check_eq "list: second is the socket" show_channel (List.nth l 1)
        { backend_domid = 0; backend_domname = None; devid = 1; name = Some "org.example.sock";
          connection = Socket (Some sock5) };
      (match expect_ok "getinfo pty" (Device_channel.getinfo ctx ~domid:5 (List.hd l)) with
      | Some i ->
          check_eq "getinfo pty" show_info i
            { backend = Some "/local/domain/0/backend/console/5/1"; backend_id = 0;
              frontend = Some "/local/domain/5/device/console/1"; frontend_id = 5; devid = 0;
              state = 1; evtch = -1; rref = -1; connection = Pty (qemu_pty 5 1) }
      | None -> ());
      (match expect_ok "getinfo socket" (Device_channel.getinfo ctx ~domid:5 (List.nth l 1)) with
      | Some i ->
          check "getinfo socket: connection" (i.connection = Socket);
          check_opt "getinfo socket: frontend" i.frontend (Some "/local/domain/5/device/console/2")
      | None -> ());
      expect_error "getinfo of a channel beyond the consoles" show_info Fail
        (Device_channel.getinfo ctx ~domid:5 { Device_channel.default with devid = 41 });
      check "list of a domain without channels"
        (Device_channel.list ctx ~domid:99 = Ok []);
      expect_error "list domid -3" (show_list show_channel) Inval (Device_channel.list ctx ~domid:(-3))

(* A guest may rewrite or delete anything in its frontend directory except the values of
   the read-only keys: list reads only libxl's copy, getinfo gives libxl's results. *)
let test_hostile_guest ctx =
  let fe = "/local/domain/5/device/console/1" in
  xs_write (fe ^ "/state") "4294967301junk";
  xs_write (fe ^ "/ring-ref") "-2";
  xs_write (fe ^ "/port") (String.make 3000 '9');
  xs_write (fe ^ "/backend") "/local/domain/7/backend/console/5/1";
  xs_write (fe ^ "/backend-id") "7";
  xs_rm (fe ^ "/name");
  xs_write (fe ^ "/connection") "socket";
  xs_write (fe ^ "/path") "/etc/shadow";
  match expect_ok "list after vandalism" (Device_channel.list ctx ~domid:5) with
  | None -> ()
  | Some l ->
      check_int "still 4 channels" (List.length l) 4;
      let first = List.hd l in
      check_eq "first channel from libxl's copy" show_channel first
        { backend_domid = 0; backend_domname = None; devid = 0; name = Some "org.example.pty";
          connection = Pty };
      (match expect_ok "getinfo after vandalism" (Device_channel.getinfo ctx ~domid:5 first) with
      | Some i ->
          check_opt "backend: dom0's copy" i.backend (Some "/local/domain/0/backend/console/5/1");
          check_int "backend_id" i.backend_id 0;
          check_int "state: strtoul, truncated" i.state 5;
          check_int "rref -2" i.rref (-2);
          check_int "evtch saturated" i.evtch (-1);
          check "tty is read-only for the guest: still qemu's pty"
            (qemu_pty 5 1 <> None && i.connection = Pty (qemu_pty 5 1))
      | None -> ());
      xs_rm fe;
      (match expect_ok "getinfo without a frontend" (Device_channel.getinfo ctx ~domid:5 first) with
      | Some i ->
          check_eq "libxl's fallbacks" show_info i
            { i with state = -1; rref = -1; evtch = -1; connection = Pty (Some "/NO-SUCH-PATH") }
      | None -> ());
      (* A bad connection in libxl's own copy fails the whole list. *)
      register_domain 8 "guest8";
      ignore (start_qemu 8 : qemu);
      ignore (expect_ok "add to guest8" (add ctx 8 (pty "ok")));
      xs_write "/libxl/8/device/console/2/name" "bad";
      xs_write "/libxl/8/device/console/2/connection" "serial";
      expect_error ~contains:"Unable to list channels" "list with a bad libxl copy"
        (show_list show_channel) Fail
        (Device_channel.list ctx ~domid:8);
      xs_rm "/libxl/8/device/console/2/connection";
      expect_error "list with a console without connection" (show_list show_channel) Fail
        (Device_channel.list ctx ~domid:8);
      xs_rm "/libxl/8/device/console/2/name";
      check_int "a console without a name is not a channel"
        (match Device_channel.list ctx ~domid:8 with Ok l -> List.length l | Error _ -> -1)
        1

(* remove (graceful) and destroy (forced) with a real qemu: the three node directories, the
   chardev and the socket go; errors carry the library's codes; a chardev qemu still uses
   cannot be removed gracefully (nothing changes), destroy removes the nodes anyway. *)
(* The device-model rule seen from OCaml: guest 42 has no qemu, so a channel dom0 would
   serve is refused (Fail, the message naming the QMP socket) with nothing written; one a
   driver domain serves is added to xenstore alone. *)
let test_no_device_model ctx =
  register_domain 42 "nodm42";
  let socket = Printf.sprintf "%s/qmp-libxl-42" run_dir in
  expect_error
    ~contains:
      (Printf.sprintf
         "domain 42 has no running device model (no QMP socket at %s): channel 'org.example.nodm' would have no backend"
         socket)
    "add without a device model" show_channel Fail
    (add ctx 42 (pty "org.example.nodm"));
  check_opt "nothing in libxl's copy" (xs_read "/libxl/42") None;
  check_opt "no frontend" (xs_read "/local/domain/42/device/console") None;
  check_opt "no backend" (xs_read "/local/domain/0/backend/console/42") None;
  register_domain 43 "driver43";
  match expect_ok "a driver domain's channel" (add ctx 42 (Device_channel.make ~backend_domname:"driver43" ~name:"org.example.dd" Pty)) with
  | Some c ->
      check_int "driver domain channel: devid" c.devid 1;
      check_int "driver domain channel: backend" c.backend_domid 43
  | None -> ()

let test_unplug ctx =
  register_domain 40 "unplug40";
  let q = start_qemu 40 in
  let sock = run_dir ^ "/unplug.sock" in
  let dirs devid =
    [ Printf.sprintf "/local/domain/40/device/console/%d" devid;
      Printf.sprintf "/local/domain/0/backend/console/40/%d" devid;
      Printf.sprintf "/libxl/40/device/console/%d" devid ]
  in
  let present devid = List.length (List.filter (fun p -> xs_read p <> None) (dirs devid)) in
  let listens path =
    let fd = Unix.socket Unix.PF_UNIX Unix.SOCK_STREAM 0 in
    Fun.protect ~finally:(fun () -> Unix.close fd) (fun () ->
        match Unix.connect fd (Unix.ADDR_UNIX path) with () -> true | exception _ -> false)
  in
  let remove = Device_channel.remove ctx ~domid:40 and destroy = Device_channel.destroy ctx ~domid:40 in
  let console devid = { Device_channel.default with devid } in
  let show_unit () = "()" in
  match (add ctx 40 (socket "org.example.sock" sock), add ctx 40 (pty "org.example.pty")) with
  | Ok s, Ok p ->
      check_int "unplug: socket devid" s.devid 1;
      check_int "unplug: pty devid" p.devid 2;
      check "unplug: both chardevs in qemu"
        (chardev_filename q "libxl-channel1" = Some (Printf.sprintf "disconnected:unix:%s,server=on" sock)
         && qemu_pty 40 2 <> None);
      check "unplug: the socket listens" (listens sock);
      check_int "unplug: nodes of console 1" (present 1) 3;
      (* errors first: nothing changes *)
      expect_error ~contains:"domain 40 has no console 9" "remove of a console the domain lacks"
        show_unit Notfound (remove (console 9));
      check "remove of a missing console: code -23, libxl's closing line"
        (match remove (console 9) with
         | Error e -> int_of_error_code e.code = -23 && contains e.message "Unable to remove channel device"
         | Ok () -> false);
      expect_error ~contains:"domain 40 has no console 9" "destroy of a console the domain lacks"
        show_unit Notfound (destroy (console 9));
      expect_error "remove of console 0" show_unit Inval (remove (console 0));
      expect_error "destroy of console -1" show_unit Inval (destroy (console (-1)));
      expect_error ~contains:"domain 7777 has no console 1" "remove from an unknown domain"
        show_unit Notfound (Device_channel.remove ctx ~domid:7777 (console 1));
      expect_error ~contains:"not a 32-bit unsigned" "remove domid -1" show_unit Inval
        (Device_channel.remove ctx ~domid:(-1) (console 1));
      check_int "the failures changed nothing" (present 1 + present 2) 6;
      (* qemu refuses to remove a chardev in use: remove fails and puts the backend back *)
      ignore (qmp q "{\"execute\": \"netdev_add\", \"arguments\": {\"type\": \"hubport\", \"id\": \"h0\", \"hubid\": 0}}");
      check "a filter-redirector takes the socket chardev"
        (String.starts_with ~prefix:"{\"return\""
           (qmp q "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"filter-redirector\", \"id\": \"r0\", \"netdev\": \"h0\", \"queue\": \"tx\", \"indev\": \"libxl-channel1\"}}"));
      expect_error ~contains:"Chardev 'libxl-channel1' is busy" "remove of a chardev qemu uses"
        show_unit Qmp_generic_error (remove s);
      check_int "refused: the nodes stay" (present 1) 3;
      check_opt "refused: backend online again" (xs_read "/local/domain/0/backend/console/40/1/online") (Some "1");
      check_opt "refused: backend state again" (xs_read "/local/domain/0/backend/console/40/1/state") (Some "1");
      check "refused: the chardev stays" (chardev_filename q "libxl-channel1" <> None);
      ignore (qmp q "{\"execute\": \"object-del\", \"arguments\": {\"id\": \"r0\"}}");
      (* graceful removal of the socket channel *)
      check_eq "remove the socket channel" (show_result show_unit) (remove s) (Ok ());
      check_int "removed: no node directory" (present 1) 0;
      check_opt "removed: no chardev in qemu" (chardev_filename q "libxl-channel1") None;
      check "removed: the socket file is gone" (not (Sys.file_exists sock));
      check "removed: nothing listens" (not (listens sock));
      check_int "removed: the pty channel untouched" (present 2) 3;
      (* forced removal of the pty channel, by devid *)
      check_eq "destroy the pty channel" (show_result show_unit) (destroy (console 2)) (Ok ());
      check_int "destroyed: no node directory" (present 2) 0;
      check_opt "destroyed: no chardev in qemu" (chardev_filename q "libxl-channel2") None;
      check "destroyed: no warning" (last_messages ctx = []);
      check_eq "no channel left" (show_result (show_list show_channel))
        (Device_channel.list ctx ~domid:40) (Ok []);
      (* a driver domain's channel: xenstore only, no device model *)
      register_domain 41 "unplug41";
      (match add ctx 41 (Device_channel.make ~backend_domname:"driver-dom" ~name:"org.example.drv" Pty) with
       | Ok c ->
           check_eq "remove a driver domain's channel" (show_result show_unit)
             (Device_channel.remove ctx ~domid:41 c) (Ok ());
           check_opt "its backend is gone" (xs_read "/local/domain/3/backend/console/41/1") None;
           check_opt "its libxl copy is gone" (xs_read "/libxl/41/device/console/1") None
       | Error e -> check ("add to guest 41: " ^ string_of_error e) false);
      stop_qemu q
  | s, p ->
      check ("unplug: adds " ^ show_result show_channel s ^ ", " ^ show_result show_channel p) false

let test_json ctx =
  check_eq "pty channel JSON (libxl's bytes)" (show_result (Printf.sprintf "%S"))
    (Device_channel.to_json ctx (pty "org.a"))
    (Ok "{\n    \"name\": \"org.a\",\n    \"connection.pty\": {\n\n    }\n}\n");
  check_eq "socket channel JSON" (show_result (Printf.sprintf "%S"))
    (Device_channel.to_json ctx (socket "org.b" "/run/b.sock"))
    (Ok
       "{\n    \"name\": \"org.b\",\n    \"connection.socket\": {\n        \"path\": \"/run/b.sock\"\n    }\n}\n");
  let channels =
    [ Device_channel.default; pty "org.a"; socket "org.b" "/run/b \"q\" \\ é.sock";
      Device_channel.make ~backend_domid:3 ~backend_domname:"driver" ~devid:7 ~name:"n" Pty;
      Device_channel.make ~name:"s" (Socket None);
      { Device_channel.default with backend_domid = 4294967295; devid = 2147483647 } ]
  in
  List.iter
    (fun c ->
      check_eq ("channel JSON round trip " ^ show_channel c) (show_result show_channel)
        (Result.bind (Device_channel.to_json ctx c) (Device_channel.of_json ctx))
        (Ok c))
    channels;
  let infos =
    [ Channelinfo.default;
      { Channelinfo.backend = Some "/b"; backend_id = 1; frontend = Some "/f";
        frontend_id = 5; devid = 0; state = 4; evtch = 17; rref = -1; connection = Pty (Some "/dev/pts/3") };
      { Channelinfo.default with connection = Socket; state = -1 };
      { Channelinfo.default with connection = Pty None } ]
  in
  List.iter
    (fun i ->
      check_eq ("channelinfo JSON round trip " ^ show_info i) (show_result show_info)
        (Result.bind (Channelinfo.to_json ctx i) (Channelinfo.of_json ctx))
        (Ok i))
    infos;
  check "of_json: fields absent keep the defaults"
    (Device_channel.of_json ctx "{\"name\": \"x\"}" = Ok { Device_channel.default with name = Some "x" });
  check "of_json: text after the value is ignored (libxl's quirk)"
    (Result.is_ok (Device_channel.of_json ctx "{} trailing"));
  (* Bad and hostile JSON: libxl's results (its parser skips what it does not know and
     values of the wrong type), never a crash. *)
  List.iter
    (fun text ->
      check
        (Printf.sprintf "channel JSON %S is an error" (if String.length text > 40 then String.sub text 0 40 else text))
        (match Device_channel.of_json ctx text with
        | Error { code = Fail; message } -> message <> "ERROR_FAIL"
        | Error _ | Ok _ -> false))
    [ ""; "{"; "{\"name\": \"a"; String.make 100000 '[';
      "{\"connection.pty\": {}, \"connection.socket\": {\"path\": \"/p\"}}" ];
  List.iter
    (fun text ->
      check_eq (Printf.sprintf "channel JSON %S: ignored as libxl ignores it" text)
        (show_result show_channel) (Device_channel.of_json ctx text) (Ok Device_channel.default))
    [ "[1,2]"; "\"x\""; "null"; "{\"name\": 5}"; "{\"connection.serial\": {}}";
      "{\"devid\": 99999999999999999999}" ];
  check_eq "JSON \\u0000 in a string: cut there" (show_result show_channel)
    (Device_channel.of_json ctx "{\"name\": \"\\u0000x\"}")
    (Ok { Device_channel.default with name = Some "" });
  expect_error ~contains:"NUL byte" "JSON with a NUL byte" show_channel Inval
    (Device_channel.of_json ctx "{\"name\": \"a\000\"}");
  expect_error "bad channelinfo JSON" show_info Fail (Channelinfo.of_json ctx "{\"state\": ");
  check "channelinfo JSON: a string where a number belongs is skipped"
    (Channelinfo.of_json ctx "{\"state\": \"x\"}" = Ok Channelinfo.default);
  check "bad JSON's message is libxl's log"
    (match Device_channel.of_json ctx "{" with
    | Error e -> e.message <> string_of_error_code e.code
    | Ok _ -> false)

let guest = "name = \"guest\"\nmemory = 128\n"

let test_config ctx =
  (match
     expect_ok "config with three channels"
       (Config.channels ctx ~source_name:"guest.cfg"
          (guest
         ^ "channel = [ \"connection=pty, name=org.a\",\n\
           \  ' name = org.b , foo=1, connection = socket , path = /run/b.sock ',\n\
           \  \"backend=driver,connection=pty\" ]\n"))
   with
  | Some (chans, warnings) ->
      check_eq "config channels" (show_list show_channel) chans
        [ pty "org.a"; socket "org.b" "/run/b.sock";
          { Device_channel.default with backend_domname = Some "driver"; connection = Pty } ];
      check_eq "config warnings" (show_list (Printf.sprintf "%S")) warnings
        [ "unknown channel parameter 'foo', ignoring" ]
  | None -> ());
  check "no channel setting" (Config.channels ctx guest = Ok ([], []));
  check "empty data" (Config.channels ctx "" = Ok ([], []));
  check "a single string: warning, no channels"
    (Config.channels ctx ~source_name:"guest.cfg" (guest ^ "channel = \"connection=pty\"\n")
    = Ok ([], [ "guest.cfg:3: warning: parameter `channel' is a single value but should be a list" ]));
  let fatal =
    [ ("channel = [ \"foo=1,name=n\" ]\n", Inval, "channel has unknown 'connection'");
      ("channel = [ \"connection=pty,name\" ]\n", Inval, "failed to parse channel configuration: name");
      ("channel = [ \"connection=PTY\" ]\n", Inval, "unknown channel connection 'PTY'");
      ("channel = [ \"name=x,connection=socket\" ]\n", Inval,
        "channel connection 'socket' requires path=..");
      ("channel = [ \"\" ]\n", Inval, "failed to parse channel configuration: ");
      ("channel = [ \"connection=pty\",\n", Fail,
        "guest.cfg:3: config parsing error near `': syntax error, unexpected $end, expecting \
         ']'\nFailed to parse config: Invalid argument") ]
  in
  List.iter
    (fun (lines, code, message) ->
      check_eq ("config error: " ^ String.escaped lines)
        (show_result (fun _ -> "channels"))
        (Config.channels ctx ~source_name:"guest.cfg" (guest ^ lines))
        (Error { code; message }))
    fatal;
  check "the warning before an error is in last_messages"
    (ignore (Config.channels ctx (guest ^ "channel = [ \"foo=1,name=n\" ]\n"));
     List.exists
       (fun (m : Log.message) ->
         m.level = Log.Warn && m.context = "xl" && m.text = "unknown channel parameter 'foo', ignoring")
       (last_messages ctx));
  (* The data's length counts, not a NUL: one inside a quoted string is refused. *)
  check_eq "NUL byte inside a quoted string" (show_result (fun _ -> "channels"))
    (Config.channels ctx ~source_name:"guest.cfg" (guest ^ "channel = [ \"connection=pty,name=a\000b\" ]\n"))
    (Error
       { code = Fail;
         message =
           "guest.cfg:3: config parsing error near `\"connection=pty,name=a': NUL byte in \
            quoted string\nFailed to parse config: Invalid argument" });
  expect_error "source name with a NUL" (fun _ -> "channels") Inval
    (Config.channels ctx ~source_name:"a\000b" guest);
  expect_error "unreadable config file" (fun _ -> "channels") Fail
    (Config.channels_of_file ctx "/nonexistent/guest.cfg");
  let file = Filename.temp_file "xlchannel-ocaml" ".cfg" in
  Out_channel_compat.write_file file (guest ^ "channel = [ \"connection=pty,name=org.f\" ]\n");
  check "config from a file" (Config.channels_of_file ctx file = Ok ([ pty "org.f" ], []));
  Sys.remove file;
  (* One SPEC. *)
  check_eq "parse_spec socket, with a warning"
    (show_result (fun (c, w) -> show_channel c ^ " " ^ show_list (Printf.sprintf "%S") w))
    (Config.parse_spec ctx " path=/run/a,,connection=socket,name=org.a,x=y")
    (Ok (socket "org.a" "/run/a", [ "unknown channel parameter 'x', ignoring" ]));
  check "parse_spec: a path is dropped for a pty; backend kept as a name"
    (Config.parse_spec ctx "backend=3,path=/p,connection=pty"
    = Ok ({ Device_channel.default with backend_domname = Some "3"; connection = Pty }, []));
  List.iter
    (fun (spec, message) ->
      check_eq ("parse_spec " ^ spec) (show_result (fun _ -> "channel"))
        (Config.parse_spec ctx spec)
        (Error { code = Inval; message }))
    [ ("", "failed to parse channel configuration: ");
      ("name=n", "channel has unknown 'connection'");
      ("connection=tcp", "unknown channel connection 'tcp'");
      ("connection=socket", "channel connection 'socket' requires path=..");
      ("=x,connection=pty", "failed to parse channel configuration: =x") ];
  expect_error ~contains:"NUL byte" "parse_spec with a NUL" (fun _ -> "channel") Inval
    (Config.parse_spec ctx "connection=pty\000,name=x");
  (* What xl create does next: the config's channels added to a domain. *)
  register_domain 31 "cfg-guest";
  ignore (start_qemu 31 : qemu) (* its pty channel is dom0's *);
  register_domain 32 "cfg-driver";
  match
    Config.channels ctx
      (guest
     ^ "channel = [ 'connection=pty,name=org.a', \
        'backend=cfg-driver,connection=socket,path=/run/s,name=org.b' ]\n")
  with
  | Ok (chans, []) ->
      let added = List.map (fun c -> add ctx 31 c) chans in
      check_eq "config's channels added: devids" (show_list (show_result string_of_int))
        (List.map (Result.map (fun (c : Device_channel.t) -> c.devid)) added)
        [ Ok 1; Ok 2 ];
      check_eq "config's socket channel: backend resolved" (show_result string_of_int)
        (Result.map (fun (c : Device_channel.t) -> c.backend_domid) (List.nth added 1))
        (Ok 32);
      check_opt "its frontend's backend" (xs_read "/local/domain/31/device/console/2/backend")
        (Some "/local/domain/32/backend/console/31/2")
  | r -> check ("config for domain 31: " ^ show_result (fun _ -> "with warnings") r) false

let test_device_model ctx =
  check_eq "chardev args" (show_result (show_list (Printf.sprintf "%S")))
    (Device_model.chardev_args ctx [ socket "a" "/run/a,b.sock"; pty "b" ])
    (Ok
       [ "-chardev"; "socket,id=libxl-channel1,path=/run/a,,b.sock,server=on,wait=off"; "-chardev";
         "pty,id=libxl-channel2" ]);
  check "chardev args: no channels" (Device_model.chardev_args ctx [] = Ok []);
  expect_error "chardev args: socket without a path" (show_list Fun.id) Inval
    (Device_model.chardev_args ctx [ Device_channel.make ~name:"s" (Socket None) ]);
  expect_error ~contains:"not a 32-bit" "chardev args: a bad second channel" (show_list Fun.id) Inval
    (Device_model.chardev_args ctx [ pty "a"; { (pty "b") with devid = max_int } ])

let test_logger () =
  let seen = ref [] in
  let r =
    with_context
      ~logger:(fun m -> seen := m :: !seen)
      (fun ctx -> Config.parse_spec ctx "connection=pty,zz=1")
  in
  check "parse_spec with a logger" (Result.is_ok r);
  check "the logger got xl's warning"
    (List.exists
       (fun (m : Log.message) ->
         m.level = Log.Warn && m.context = "xl" && m.text = "unknown channel parameter 'zz', ignoring")
       !seen)

(* Many calls, every path: C memory must not grow (valgrind proves no leak; this shows it
   for a plain run too, by the process's resident size). *)
let test_repeated_calls ctx =
  let rss () =
    try
      let ic = open_in "/proc/self/statm" in
      let line = input_line ic in
      close_in ic;
      Scanf.sscanf line "%d %d" (fun _ r -> r)
    with _ -> 0
  in
  let round () =
    for _ = 1 to 200 do
      ignore (Device_channel.list ctx ~domid:5);
      ignore (Device_channel.to_json ctx (socket "org.b" "/run/b.sock"));
      ignore (Device_channel.of_json ctx "{\"name\": \"x\", \"connection.socket\": {\"path\": \"/p\"}}");
      ignore (Device_channel.of_json ctx "{bad");
      ignore (Config.parse_spec ctx "connection=socket,name=a,path=/p,foo=bar");
      ignore (add ctx 5 (Device_channel.make ~devid:2 ~name:"dup" Pty));
      ignore (Device_channel.remove ctx ~domid:5 { Device_channel.default with devid = 9 });
      ignore (Device_channel.destroy ctx ~domid:5 { Device_channel.default with devid = 9 });
      ignore (Device_model.chardev_args ctx [ pty "a"; socket "b" "/s" ])
    done;
    Gc.compact ()
  in
  round ();
  let before = rss () in
  round ();
  round ();
  let after = rss () in
  let under_valgrind =
    match Sys.getenv_opt "LD_PRELOAD" with
    | Some p -> contains p "vgpreload"
    | None -> false
  in
  (* valgrind's own bookkeeping grows the process; it checks the leaks itself. *)
  if not under_valgrind then
    check (Printf.sprintf "resident pages stable over 3600 calls (%d -> %d)" before after)
      (after - before < 256)

(* The runtime lock is released while a call waits for xenstored, a second thread's call on
   the same context runs meanwhile, and only ctx_free is refused. xenstored is stopped
   (SIGSTOP) so that the first thread's call waits inside the library as long as the test
   needs. *)
let test_threads ctx =
  match Sys.getenv_opt "XLCHANNEL_XENSTORED_PID" with
  | None -> check "XLCHANNEL_XENSTORED_PID is set by the test bed" false
  | Some pid ->
      let pid = int_of_string pid in
      let result = ref None in
      Unix.kill pid Sys.sigstop;
      let resumed = ref false in
      let resume () =
        if not !resumed then begin
          resumed := true;
          Unix.kill pid Sys.sigcont
        end
      in
      Fun.protect ~finally:resume (fun () ->
          let t = Thread.create (fun () -> result := Some (Device_channel.list ctx ~domid:5)) () in
          (* This thread runs while the other one waits in xenstored's socket. *)
          (* Wait until the first thread is inside its call (it then waits in the stopped
             xenstored). *)
          let deadline = Unix.gettimeofday () +. 10. in
          let rec wait_inside () =
            if calls_running ctx = 1 then true
            else if Unix.gettimeofday () > deadline then false
            else (Thread.delay 0.01; wait_inside ())
          in
          check "the first thread's call is running" (wait_inside ());
          let inside () =
            match ctx_free ctx with Error { code = Lock_fail; _ } -> true | _ -> false
          in
          check "ctx_free while another thread is inside a call: Lock_fail, nothing freed"
            (inside ());
          check "a second thread's call on the context meanwhile: its own result, no messages"
            (match Config.parse_spec ctx "connection=pty,name=x" with
             | Ok (c, []) -> c.name = Some "x"
             | _ -> false);
          check "ctx_free of a busy context: Lock_fail, nothing freed"
            (match ctx_free ctx with Error { code = Lock_fail; _ } -> true | _ -> false);
          check "the waiting call has not returned" (!result = None);
          resume ();
          Thread.join t;
          check_int "the waiting call's result once xenstored runs again"
            (match !result with Some (Ok l) -> List.length l | _ -> -1)
            4;
          check "the context works again" (Result.is_ok (Config.parse_spec ctx "connection=pty"));
          check_int "no call is running afterwards" (calls_running ctx) 0)

(* 8 threads share one context: 50 adds each to one domain (hot-added to its qemu), all
   succeed with distinct devids, and each call's messages are its own (a failing add in one
   thread does not leak its messages into another's). *)
let test_shared_context ctx =
  register_domain 90 "threads90";
  let q90 = start_qemu 90 in
  let threads = 8 and rounds = 50 in
  let results = Array.make threads [] in
  let worker t =
    let got = ref [] in
    for r = 1 to rounds do
      let name = Printf.sprintf "org.thread.%d.%d" t r in
      got := add ctx 90 (pty name) :: !got;
      (* An add that fails, with its own error message. *)
      (match add ctx 90 { (pty "x") with Device_channel.name = None } with
       | Error { code = Inval; message } when contains message "no name" -> ()
       | _ -> got := Error { code = Fail; message = "the nameless add was not refused alone" } :: !got)
    done;
    results.(t) <- !got
  in
  let ts = List.init threads (fun t -> Thread.create worker t) in
  List.iter Thread.join ts;
  let all = List.concat (Array.to_list results) in
  let oks = List.filter_map (function Ok (c : Device_channel.t) -> Some c.devid | Error _ -> None) all in
  let errors = List.filter_map (function Error e -> Some e | Ok _ -> None) all in
  check_int "adds from 8 threads on one context that failed" (List.length errors) 0;
  (match errors with e :: _ -> prerr_endline ("first failure: " ^ e.message) | [] -> ());
  check_eq "their devids: exactly 1..400" (show_list string_of_int)
    (List.sort compare oks) (List.init (threads * rounds) (fun i -> i + 1));
  check_int "listed" (match Device_channel.list ctx ~domid:90 with Ok l -> List.length l | Error _ -> -1)
    (threads * rounds);
  check_eq "their chardevs in qemu: exactly libxl-channel1..400" (show_list Fun.id)
    (List.sort compare
       (List.filter (String.starts_with ~prefix:"libxl-channel") (chardev_labels q90)))
    (List.sort compare (List.init (threads * rounds) (fun i -> Printf.sprintf "libxl-channel%d" (i + 1))));
  stop_qemu q90

(* A test group that raises counts as one failure; the others still run. *)
let group name f =
  try f () with e ->
    incr failed;
    Printf.printf "FAILED: %s raised %s\n%!" name (Printexc.to_string e)

let () =
  (* bounded: SIGALRM ends a hung run (its qemus stopped at exit) *)
  Sys.set_signal Sys.sigalrm
    (Sys.Signal_handle (fun _ -> prerr_endline "test_xlchannel: alarm expired"; exit 3));
  ignore (Unix.alarm 240);
  if Sys.getenv_opt "XENSTORED_PATH" = None then begin
    prerr_endline "no xenstore: run inside testbed/with-xenstored.sh --no-preload";
    exit 2
  end;
  group "abi" test_abi;
  group "error codes" test_error_codes;
  group "connection" test_connection;
  group "contexts" test_contexts;
  (match
     with_context (fun ctx ->
         group "add" (fun () -> test_add ctx);
         group "add errors" (fun () -> test_add_errors ctx);
         group "list and getinfo" (fun () -> test_list_and_getinfo ctx);
         group "hostile guest" (fun () -> test_hostile_guest ctx);
         group "unplug" (fun () -> test_unplug ctx);
         group "no device model" (fun () -> test_no_device_model ctx);
         group "json" (fun () -> test_json ctx);
         group "config" (fun () -> test_config ctx);
         group "device model" (fun () -> test_device_model ctx);
         group "shared context" (fun () -> test_shared_context ctx);
         group "repeated calls" (fun () -> test_repeated_calls ctx);
         group "threads" (fun () -> test_threads ctx);
         Ok ())
   with
  | Ok () -> ()
  | Error e -> check ("context: " ^ string_of_error e) false);
  group "logger" test_logger;
  Gc.full_major ();
  Printf.printf "ocaml-bindings: %d passed, %d failed\n%!" !passed !failed;
  exit (if !failed = 0 then 0 else 1)
