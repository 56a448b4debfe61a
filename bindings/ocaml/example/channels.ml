(* channels DOMID [CONFIG]: add the channels of an xl config file to a domain, then print
   the domain's channels and their state. DOMID is a domain number (the bindings, like
   libxl's channel calls, take domids; a name is looked up with `xl domid NAME`). *)
open Xlchannel

let ( let* ) = Result.bind

let add_from_config ctx ~domid file =
  let* channels, warnings = Config.channels_of_file ctx file in
  List.iter (fun w -> prerr_endline ("warning: " ^ w)) warnings;
  List.fold_left
    (fun acc ch ->
      let* () = acc in
      let* added = Device_channel.add ctx ~domid ch in   (* devid -1: first free console *)
      Printf.printf "added console %d\n" added.devid;
      Ok ())
    (Ok ()) channels

let show ctx ~domid (ch : Device_channel.t) =
  let* info = Device_channel.getinfo ctx ~domid ch in
  let where =
    match ch.connection with
    | Socket (Some path) -> "socket " ^ path
    | Pty -> "pty"
    | Socket None | Unknown -> "?"
  in
  Printf.printf "%d %s %s state=%d\n" ch.devid (Option.value ch.name ~default:"-") where
    info.state;
  Ok ()

(* with_context frees the libxl_ctx whatever happens *)
let run ~domid config =
  with_context (fun ctx ->
      let* () = Option.fold ~none:(Ok ()) ~some:(add_from_config ctx ~domid) config in
      let* channels = Device_channel.list ctx ~domid in
      List.fold_left (fun acc ch -> Result.bind acc (fun () -> show ctx ~domid ch)) (Ok ())
        channels)

let usage () =
  prerr_endline "usage: channels DOMID [CONFIG]   (DOMID: a domain number, e.g. 7)";
  exit 2

let () =
  let domid =
    match Array.to_list Sys.argv with
    | _ :: d :: ([] | [ _ ]) -> (
        match int_of_string_opt d with
        | Some n when n >= 0 -> n
        | _ ->
            Printf.eprintf "channels: %S is not a domain number\n" d;
            usage ())
    | _ -> usage ()
  in
  let config = if Array.length Sys.argv > 2 then Some Sys.argv.(2) else None in
  match run ~domid config with
  | Ok () -> ()
  | Error e ->
      prerr_endline (string_of_error e);
      exit 1
