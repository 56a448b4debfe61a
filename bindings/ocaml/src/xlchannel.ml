(* OCaml side of the xlchannel bindings; the C side is xlchannel_stubs.c. Stubs return
   [('a, int) result * raw_messages]: a negative int is a libxl_error, the positive ones
   below are the stubs' own; the messages are what the library logged during the call. *)

type error_code =
  | Nonspecific
  | Version
  | Fail
  | Ni
  | Nomem
  | Inval
  | Badfail
  | Guest_timedout
  | Timedout
  | Noparavirt
  | Not_ready
  | Osevent_reg_fail
  | Bufferfull
  | Unknown_child
  | Lock_fail
  | Json_config_empty
  | Device_exists
  | Checkpoint_devops_does_not_match
  | Checkpoint_device_not_supported
  | Vnuma_config_invalid
  | Domain_notfound
  | Aborted
  | Notfound
  | Domain_destroyed
  | Feature_removed
  | Protocol_error_qmp
  | Unknown_qmp_error
  | Qmp_generic_error
  | Qmp_command_not_found
  | Qmp_device_not_active
  | Qmp_device_not_found
  | Qemu_api
  | Other_error of int

(* Code i (0-based) of this table is -(i+1), as in the header (checked by the stubs'
   _Static_asserts and by Abi.check). *)
let error_table =
  [|
    (Nonspecific, "ERROR_NONSPECIFIC");
    (Version, "ERROR_VERSION");
    (Fail, "ERROR_FAIL");
    (Ni, "ERROR_NI");
    (Nomem, "ERROR_NOMEM");
    (Inval, "ERROR_INVAL");
    (Badfail, "ERROR_BADFAIL");
    (Guest_timedout, "ERROR_GUEST_TIMEDOUT");
    (Timedout, "ERROR_TIMEDOUT");
    (Noparavirt, "ERROR_NOPARAVIRT");
    (Not_ready, "ERROR_NOT_READY");
    (Osevent_reg_fail, "ERROR_OSEVENT_REG_FAIL");
    (Bufferfull, "ERROR_BUFFERFULL");
    (Unknown_child, "ERROR_UNKNOWN_CHILD");
    (Lock_fail, "ERROR_LOCK_FAIL");
    (Json_config_empty, "ERROR_JSON_CONFIG_EMPTY");
    (Device_exists, "ERROR_DEVICE_EXISTS");
    (Checkpoint_devops_does_not_match, "ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH");
    (Checkpoint_device_not_supported, "ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED");
    (Vnuma_config_invalid, "ERROR_VNUMA_CONFIG_INVALID");
    (Domain_notfound, "ERROR_DOMAIN_NOTFOUND");
    (Aborted, "ERROR_ABORTED");
    (Notfound, "ERROR_NOTFOUND");
    (Domain_destroyed, "ERROR_DOMAIN_DESTROYED");
    (Feature_removed, "ERROR_FEATURE_REMOVED");
    (Protocol_error_qmp, "ERROR_PROTOCOL_ERROR_QMP");
    (Unknown_qmp_error, "ERROR_UNKNOWN_QMP_ERROR");
    (Qmp_generic_error, "ERROR_QMP_GENERIC_ERROR");
    (Qmp_command_not_found, "ERROR_QMP_COMMAND_NOT_FOUND");
    (Qmp_device_not_active, "ERROR_QMP_DEVICE_NOT_ACTIVE");
    (Qmp_device_not_found, "ERROR_QMP_DEVICE_NOT_FOUND");
    (Qemu_api, "ERROR_QEMU_API");
  |]

let all_error_codes = Array.to_list (Array.map fst error_table)

let index_of_code code =
  let rec go i =
    if i >= Array.length error_table then None
    else if fst error_table.(i) = code then Some i
    else go (i + 1)
  in
  go 0

let int_of_error_code = function
  | Other_error n -> n
  | code -> (
      match index_of_code code with Some i -> -(i + 1) | None -> assert false)

let error_code_of_int n =
  let i = -n - 1 in
  if i >= 0 && i < Array.length error_table then fst error_table.(i) else Other_error n

let string_of_error_code = function
  | Other_error n -> Printf.sprintf "ERROR_%d" n
  | code -> (
      match index_of_code code with Some i -> snd error_table.(i) | None -> assert false)

type error = { code : error_code; message : string }

let string_of_error { code; message } =
  Printf.sprintf "%s (%d): %s" (string_of_error_code code) (int_of_error_code code) message

exception Libxl_error of error

let () =
  Printexc.register_printer (function
    | Libxl_error e -> Some ("Xlchannel.Libxl_error: " ^ string_of_error e)
    | _ -> None)

let ok_exn = function Ok v -> v | Error e -> raise (Libxl_error e)

module Log = struct
  type level = Debug | Verbose | Detail | Progress | Info | Notice | Warn | Error | Critical

  let levels = [| Debug; Verbose; Detail; Progress; Info; Notice; Warn; Error; Critical |]

  let level_to_int l =
    let rec go i = if levels.(i) = l then i + 1 else go (i + 1) in
    go 0

  let level_of_int n = levels.(max 1 (min 9 n) - 1)

  type message = { level : level; context : string; text : string }
end

(* ---- stubs ---- *)

type raw_context

let domid_self = 32752
let xl_exit_failure = 1

let stub_ctx_freed = 1
let stub_ctx_busy = 2

(* What the library logged during a call: (level, context, text), oldest first. *)
type raw_messages = (int * string * string) list

external stub_ctx_alloc : unit -> raw_context * int * raw_messages = "xlc_ctx_alloc"
external stub_ctx_free : raw_context -> int = "xlc_ctx_free"
external stub_ctx_calls : raw_context -> int = "xlc_ctx_calls"
external stub_connection_to_string : int -> string option = "xlc_connection_to_string"
external stub_connection_from_string : string -> int = "xlc_connection_from_string"
external stub_header_layout : unit -> int array = "xlc_header_layout"
external stub_header_constants : unit -> int array = "xlc_header_constants"

(* ---- contexts ---- *)

type context = {
  raw : raw_context;
  logger : (Log.message -> unit) option;
  mutable last : Log.message list;
}

let messages_of_raw raw =
  List.map
    (fun (level, context, text) -> { Log.level = Log.level_of_int level; context; text })
    raw

let deliver logger msgs = match logger with Some f -> List.iter f msgs | None -> ()

let error_of rc msgs =
  let code = error_code_of_int rc in
  let lines =
    List.filter_map
      (fun (m : Log.message) -> if m.level >= Log.Error then Some m.text else None)
      msgs
  in
  let message = if lines = [] then string_of_error_code code else String.concat "\n" lines in
  { code; message }

let freed_error = { code = Inval; message = "xlchannel: the context has been freed" }

let busy_error =
  { code = Lock_fail; message = "xlchannel: ctx_free while another thread is inside a call on the context" }

(* Run a stub; the value and the messages it logged. *)
let run ctx stub =
  match stub ctx.raw with
  | Error rc, _ when rc = stub_ctx_freed -> Error freed_error
  | Error rc, _ when rc = stub_ctx_busy -> Error busy_error
  | result, raw -> (
      let msgs = messages_of_raw raw in
      ctx.last <- msgs;
      deliver ctx.logger msgs;
      match result with Ok v -> Ok (v, msgs) | Error rc -> Error (error_of rc msgs))

let call ctx stub = Result.map fst (run ctx stub)

let warnings msgs =
  List.filter_map
    (fun (m : Log.message) -> if m.level = Log.Warn then Some m.text else None)
    msgs

let ctx_alloc ?logger () =
  let raw, rc, msgs = stub_ctx_alloc () in
  let msgs = messages_of_raw msgs in
  deliver logger msgs;
  if rc = 0 then Ok { raw; logger; last = msgs }
  else begin
    ignore (stub_ctx_free raw : int);
    Error (error_of rc msgs)
  end

let ctx_free ctx = if stub_ctx_free ctx.raw = 0 then Ok () else Error busy_error
let calls_running ctx = stub_ctx_calls ctx.raw

let with_context ?logger f =
  match ctx_alloc ?logger () with
  | Error e -> Error e
  | Ok ctx -> Fun.protect ~finally:(fun () -> ignore (ctx_free ctx)) (fun () -> f ctx)

let last_messages ctx = ctx.last

external live_contexts : unit -> int = "xlc_live_contexts"

(* ---- connections ---- *)

module Channel_connection = struct
  type t = Unknown | Pty | Socket

  let to_int = function Unknown -> 0 | Pty -> 1 | Socket -> 2
  let of_int = function 0 -> Some Unknown | 1 -> Some Pty | 2 -> Some Socket | _ -> None

  let to_string c =
    match stub_connection_to_string (to_int c) with
    | Some s -> s
    | None -> invalid_arg "Channel_connection.to_string"

  let of_string s =
    let rc = stub_connection_from_string s in
    match of_int rc with
    | Some c when rc >= 0 -> Ok c
    | _ ->
        let code = if rc < 0 then error_code_of_int rc else Fail in
        Error { code; message = Printf.sprintf "unknown channel connection %S" s }
end

(* ---- channelinfo ---- *)

module Channelinfo = struct
  (* The stubs depend on this order of constructors and fields (the CI_ enum of
     xlchannel_stubs.c). *)
  type connection = Unknown | Pty of string option | Socket

  type t = {
    backend : string option;
    backend_id : int;
    frontend : string option;
    frontend_id : int;
    devid : int;
    state : int;
    evtch : int;
    rref : int;
    connection : connection;
  }

  let default =
    {
      backend = None;
      backend_id = 0;
      frontend = None;
      frontend_id = 0;
      devid = -1;
      state = 0;
      evtch = 0;
      rref = 0;
      connection = Unknown;
    }

  external stub_to_json :
    raw_context -> t -> (string, int) result * raw_messages
    = "xlc_channelinfo_to_json"
  external stub_of_json :
    raw_context -> string -> (t, int) result * raw_messages
    = "xlc_channelinfo_of_json"

  let to_json ctx t = call ctx (fun raw -> stub_to_json raw t)
  let of_json ctx s = call ctx (fun raw -> stub_of_json raw s)
end

(* ---- channels ---- *)

module Device_channel = struct
  (* The stubs depend on this order of constructors and fields (the CH_ enum of
     xlchannel_stubs.c). *)
  type connection = Unknown | Pty | Socket of string option

  type t = {
    backend_domid : int;
    backend_domname : string option;
    devid : int;
    name : string option;
    connection : connection;
  }

  let default =
    {
      backend_domid = 0;
      backend_domname = None;
      devid = -1;
      name = None;
      connection = Unknown;
    }

  let make ?(backend_domid = 0) ?backend_domname ?(devid = -1) ~name connection =
    { backend_domid; backend_domname; devid; name = Some name; connection }

  let kind = function
    | Unknown -> Channel_connection.Unknown
    | Pty -> Channel_connection.Pty
    | Socket _ -> Channel_connection.Socket

  external stub_add :
    raw_context -> int -> t -> (t, int) result * raw_messages
    = "xlc_channel_add"
  external stub_remove :
    raw_context -> int -> t -> (unit, int) result * raw_messages
    = "xlc_channel_remove"
  external stub_destroy :
    raw_context -> int -> t -> (unit, int) result * raw_messages
    = "xlc_channel_destroy"
  external stub_list :
    raw_context -> int -> (t list, int) result * raw_messages
    = "xlc_channel_list"

  external stub_getinfo :
    raw_context -> int -> t -> (Channelinfo.t, int) result * raw_messages
    = "xlc_channel_getinfo"

  external stub_to_json :
    raw_context -> t -> (string, int) result * raw_messages
    = "xlc_channel_to_json"
  external stub_of_json :
    raw_context -> string -> (t, int) result * raw_messages
    = "xlc_channel_of_json"

  let add ctx ~domid t = call ctx (fun raw -> stub_add raw domid t)
  let remove ctx ~domid t = call ctx (fun raw -> stub_remove raw domid t)
  let destroy ctx ~domid t = call ctx (fun raw -> stub_destroy raw domid t)
  let list ctx ~domid = call ctx (fun raw -> stub_list raw domid)
  let getinfo ctx ~domid t = call ctx (fun raw -> stub_getinfo raw domid t)
  let to_json ctx t = call ctx (fun raw -> stub_to_json raw t)
  let of_json ctx s = call ctx (fun raw -> stub_of_json raw s)
end

(* ---- xl configuration ---- *)

module Config = struct
  external stub_channels :
    raw_context -> string -> string -> (Device_channel.t list, int) result * raw_messages
    = "xlc_config_channels"

  external stub_parse_spec :
    raw_context -> string -> (Device_channel.t, int) result * raw_messages
    = "xlc_channel_parse_spec"

  let with_warnings r = Result.map (fun (v, msgs) -> (v, warnings msgs)) r

  let channels ctx ?(source_name = "config") data =
    with_warnings (run ctx (fun raw -> stub_channels raw source_name data))

  let channels_of_file ctx path =
    match
      let ic = open_in_bin path in
      Fun.protect
        ~finally:(fun () -> close_in_noerr ic)
        (fun () -> really_input_string ic (in_channel_length ic))
    with
    | data -> channels ctx ~source_name:path data
    | exception Sys_error msg -> Error { code = Fail; message = msg }

  let parse_spec ctx spec = with_warnings (run ctx (fun raw -> stub_parse_spec raw spec))
end

(* ---- device model ---- *)

module Device_model = struct
  external stub_chardev_args :
    raw_context -> Device_channel.t list -> (string list, int) result * raw_messages
    = "xlc_dm_chardev_args"

  let chardev_args ctx channels = call ctx (fun raw -> stub_chardev_args raw channels)
end

(* ---- ABI ---- *)

module Abi = struct
  (* Same order as xlc_header_layout in xlchannel_stubs.c. *)
  let expected_layout =
    [
      ("sizeof(libxl_device_channel)", 48);
      ("alignof(libxl_device_channel)", 8);
      ("offsetof(libxl_device_channel, backend_domid)", 0);
      ("offsetof(libxl_device_channel, backend_domname)", 8);
      ("offsetof(libxl_device_channel, devid)", 16);
      ("offsetof(libxl_device_channel, name)", 24);
      ("offsetof(libxl_device_channel, connection)", 32);
      ("offsetof(libxl_device_channel, u.socket.path)", 40);
      ("sizeof(libxl_channelinfo)", 56);
      ("alignof(libxl_channelinfo)", 8);
      ("offsetof(libxl_channelinfo, backend)", 0);
      ("offsetof(libxl_channelinfo, backend_id)", 8);
      ("offsetof(libxl_channelinfo, frontend)", 16);
      ("offsetof(libxl_channelinfo, frontend_id)", 24);
      ("offsetof(libxl_channelinfo, devid)", 28);
      ("offsetof(libxl_channelinfo, state)", 32);
      ("offsetof(libxl_channelinfo, evtch)", 36);
      ("offsetof(libxl_channelinfo, rref)", 40);
      ("offsetof(libxl_channelinfo, connection)", 44);
      ("offsetof(libxl_channelinfo, u.pty.path)", 48);
      ("sizeof(libxl_channel_connection)", 4);
      ("sizeof(libxl_domid)", 4);
      ("sizeof(libxl_devid)", 4);
      ("sizeof(libxl_asyncop_how)", 16);
      ("sizeof(libxl_enum_string_table)", 16);
    ]

  let layout_names = List.map fst expected_layout

  (* Same order as xlc_header_constants in xlchannel_stubs.c; the values are the ones this
     module uses. *)
  let expected_constants =
    [ ("LIBXL_VERSION", 0); ("XLCHANNEL_DOMID_SELF", domid_self);
      ("XLCHANNEL_XL_EXIT_FAILURE", xl_exit_failure);
      ("LIBXL_HAVE_DEVICE_CHANNEL", 1) ]
    @ List.map
        (fun (c, name) -> ("LIBXL_CHANNEL_CONNECTION_" ^ name, Channel_connection.to_int c))
        [ (Channel_connection.Unknown, "UNKNOWN"); (Channel_connection.Pty, "PTY");
          (Channel_connection.Socket, "SOCKET") ]
    @ List.map (fun c -> (string_of_error_code c, int_of_error_code c)) all_error_codes
    @ List.map
        (fun (l, name) -> ("XTL_" ^ name, Log.level_to_int l))
        [ (Log.Debug, "DEBUG"); (Log.Verbose, "VERBOSE"); (Log.Detail, "DETAIL");
          (Log.Progress, "PROGRESS"); (Log.Info, "INFO"); (Log.Notice, "NOTICE");
          (Log.Warn, "WARN"); (Log.Error, "ERROR"); (Log.Critical, "CRITICAL") ]

  let zip_names what names values =
    let values = Array.to_list values in
    if List.length names <> List.length values then
      failwith
        (Printf.sprintf "Xlchannel.Abi: the stubs give %d %s values, the bindings name %d"
           (List.length values) what (List.length names));
    List.combine names values

  let header_layout () = zip_names "layout" layout_names (stub_header_layout ())

  let header_constants () =
    zip_names "constant" (List.map fst expected_constants) (stub_header_constants ())

  let compare_lists header expected =
    List.filter_map
      (fun ((name, h), (_, b)) ->
        if h = b then None else Some (Printf.sprintf "%s: header %d, bindings %d" name h b))
      (List.combine header expected)

  let check () =
    match
      compare_lists (header_layout ()) expected_layout
      @ compare_lists (header_constants ()) expected_constants
    with
    | [] -> Ok ()
    | mismatches -> Error mismatches
    | exception Failure msg -> Error [ msg ]
end
