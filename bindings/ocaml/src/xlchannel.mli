(** Xen channels through xlchannel, the libxl 4.17 channel API (include/libxl_channel.h).

    Every libxl failure is returned as [Error {code; message}]: [code] is the
    [libxl_error] the C call returned, [message] what the library logged for that call
    (libxl's or xl's text, one line per message). No function of this module raises for a
    libxl failure; {!ok_exn} turns a result into the {!Libxl_error} exception for code in
    the style of Xen's xenlight bindings.

    C memory: every C struct built for a call is disposed and every string the library
    returns is freed before the call returns. A {!context} owns a [libxl_ctx]; free it with
    {!ctx_free} or use {!with_context}. A context that is dropped without being freed is
    freed by its finaliser when the GC collects it (the only C memory the GC ever frees).

    Threads: as libxl's, a context may be shared by threads (Debian's [libxl.h]: libxl_ctx
    is thread-safe), and the runtime lock is released while a call waits for xenstored, so
    calls of several threads on one context run at once; each call's messages are its own.
    Only {!ctx_free} refuses ([Error {code = Lock_fail; _}]) while another thread is inside a
    call on the context. *)

(** {1 Errors} *)

(** [libxl_error]: constructor [Nonspecific] is [ERROR_NONSPECIFIC] (-1), and so on in the
    header's order down to [Qemu_api] (-32). [Other_error n] is any other value. *)
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

val all_error_codes : error_code list
(** The 32 named codes, in the header's order. *)

val int_of_error_code : error_code -> int
val error_code_of_int : int -> error_code

val string_of_error_code : error_code -> string
(** The C name: ["ERROR_INVAL"]; ["ERROR_<n>"] for [Other_error n]. *)

type error = { code : error_code; message : string }
(** [message]: the error-level lines the library logged during the call, joined with
    ['\n']; the code's C name when it logged none. *)

val string_of_error : error -> string
(** ["ERROR_INVAL (-6): <message>"] *)

exception Libxl_error of error

val ok_exn : ('a, error) result -> 'a
(** The value, or raise {!Libxl_error}. *)

(** {1 Log messages} *)

module Log : sig
  (** xentoollog's levels ([XTL_DEBUG] = 1 ... [XTL_CRITICAL] = 9). *)
  type level = Debug | Verbose | Detail | Progress | Info | Notice | Warn | Error | Critical

  val level_to_int : level -> int
  val level_of_int : int -> level

  type message = { level : level; context : string; text : string }
  (** [context] is ["libxl"] for the library's messages (text ["file:line:func: ..."]),
      ["xl"] for xl's (exact text, no prefix), ["xlchannel-ocaml"] for the bindings' own
      (an argument the C types cannot hold). *)
end

(** {1 Contexts} *)

type context

val ctx_alloc : ?logger:(Log.message -> unit) -> unit -> (context, error) result
(** [libxl_ctx_alloc] (connects to the xenstored that libxenstore finds: [XENSTORED_PATH]).
    [logger], if given, receives every message of every call on the context, after the call,
    in the calling thread. *)

val ctx_free : context -> (unit, error) result
(** [libxl_ctx_free]. Idempotent; later calls on the context return an [Inval] error.
    [Error {code = Lock_fail; _}] if another thread is inside a call on it (then nothing is
    freed). *)

val with_context :
  ?logger:(Log.message -> unit) -> (context -> ('a, error) result) -> ('a, error) result
(** Allocate a context, run the function, and free the context whatever happens (also when
    the function raises). *)

val last_messages : context -> Log.message list
(** Everything logged during the most recent call on the context (in any thread) that has
    returned. *)

val calls_running : context -> int
(** How many calls, in all threads, are inside the library on the context right now (what
    makes {!ctx_free} refuse); 0 for a freed context. *)

val live_contexts : unit -> int
(** How many C contexts exist now (allocated and neither freed nor finalised): for leak
    checks. *)

(** {1 Channel connections} *)

module Channel_connection : sig
  (** [libxl_channel_connection] *)
  type t = Unknown | Pty | Socket

  val to_int : t -> int
  val of_int : int -> t option

  val to_string : t -> string
  (** [libxl_channel_connection_to_string]: ["unknown"], ["pty"], ["socket"]. *)

  val of_string : string -> (t, error) result
  (** [libxl_channel_connection_from_string] (case-insensitive); [Fail] for an unknown
      name. *)
end

(** {1 Channel state} *)

module Channelinfo : sig
  (** The union of [libxl_channelinfo]: the pty path belongs to a pty. *)
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
  (** [libxl_channelinfo] *)

  val default : t
  (** [libxl_channelinfo_init]: devid -1, everything else 0/None/[Unknown]. *)

  val to_json : context -> t -> (string, error) result
  (** [libxl_channelinfo_to_json]: libxl's JSON, byte for byte. *)

  val of_json : context -> string -> (t, error) result
  (** [libxl_channelinfo_from_json] over {!default}. *)
end

(** {1 Channels} *)

module Device_channel : sig
  (** The keyed union of [libxl_device_channel]: the socket path belongs to a socket
      ([None] is a socket without a path, which libxl's JSON can describe and [add]
      refuses). *)
  type connection = Unknown | Pty | Socket of string option

  type t = {
    backend_domid : int;
    backend_domname : string option;
    devid : int;
    name : string option;
    connection : connection;
  }
  (** [libxl_device_channel] *)

  val default : t
  (** [libxl_device_channel_init]: devid -1, everything else 0/None/[Unknown]. *)

  val make :
    ?backend_domid:int ->
    ?backend_domname:string ->
    ?devid:int ->
    name:string ->
    connection ->
    t
  (** A channel over {!default}. *)

  val kind : connection -> Channel_connection.t

  val add : context -> domid:int -> t -> (t, error) result
  (** [libxl_device_channel_add] (synchronous): the channel as added, with the console devid
      chosen (devid -1: the first free one >= 1) and [backend_domid] resolved from
      [backend_domname]. [Inval] for a channel libxl refuses (no name, no socket path, ...),
      [Domain_notfound] for a domain without [/local/domain/<domid>], [Device_exists] for a
      devid in use. A channel the local domain (dom0) serves is hot-added to the domain's
      running device model (qemu, QMP socket [qmp-libxl-<domid>]) before its nodes
      appear. *)

  val remove : context -> domid:int -> t -> (unit, error) result
  (** [libxl_device_channel_remove] (synchronous, ao_how NULL): graceful unplug of console
      [t.devid] (the devid {!add} returned, not a {!list} number; only the devid is read):
      libxl's removal protocol (the backend goes offline and Closing, a bounded wait for the
      frontend to close), then the chardev in the device model and the frontend, backend and
      [/libxl] nodes go. All or nothing: a device model that does not answer or refuses
      fails it with nothing changed. [Notfound] for a console the domain does not have,
      [Inval] for devid 0 or below. Other OCaml threads run meanwhile. *)

  val destroy : context -> domid:int -> t -> (unit, error) result
  (** [libxl_device_channel_destroy] (ao_how NULL): forced unplug, no waiting; a device
      model that refuses or is gone is a warning (in {!last_messages}), and the nodes go in
      any case. Errors as for {!remove}. *)

  val list : context -> domid:int -> (t list, error) result
  (** [libxl_device_channel_list]: numbered 0, 1, 2... in xenstore order, as libxl 4.17
      does; [Ok []] for a domain without channels (also an unknown one); [Fail] when libxl
      logged a failure. *)

  val getinfo : context -> domid:int -> t -> (Channelinfo.t, error) result
  (** [libxl_device_channel_getinfo] for a channel from {!list} (its [devid] is the list
      number). *)

  val to_json : context -> t -> (string, error) result
  (** [libxl_device_channel_to_json]: libxl's JSON, byte for byte. *)

  val of_json : context -> string -> (t, error) result
  (** [libxl_device_channel_from_json] over {!default}; a text with a NUL byte is [Inval]. *)
end

(** {1 xl configuration} *)

module Config : sig
  val channels :
    context ->
    ?source_name:string ->
    string ->
    (Device_channel.t list * string list, error) result
  (** [xlchannel_config_channels]: the channels of an xl config file's contents, as
      [xl create] 4.17 reads them, in config order (devid -1), with xl's warnings (exact
      text). Errors where xl exits: [Fail] for a file libxlutil cannot parse, [Inval] for a
      channel SPEC xl refuses; the message is xl's. [source_name] (default ["config"])
      names the file in messages. *)

  val channels_of_file :
    context -> string -> (Device_channel.t list * string list, error) result
  (** {!channels} over a file's contents, named by its path; [Fail] if it cannot be read. *)

  val parse_spec : context -> string -> (Device_channel.t * string list, error) result
  (** [xlchannel_channel_parse_spec]: one channel SPEC
      (["connection=socket,name=org.example,path=/run/s"]) as xl reads it, with xl's
      warnings; [Inval] (xl's message) for a SPEC xl refuses. *)
end

(** {1 Device model} *)

module Device_model : sig
  val chardev_args : context -> Device_channel.t list -> (string list, error) result
  (** [xlchannel_dm_chardev_args]: qemu's ["-chardev"; SPEC; ...] arguments for the
      channels. *)
end

(** {1 ABI} *)

module Abi : sig
  val layout_names : string list

  val expected_layout : (string * int) list
  (** libxl 4.17's layout on 64-bit Linux, as these bindings assume it: sizes, alignments
      and offsets of [libxl_device_channel] and [libxl_channelinfo] and related types. *)

  val header_layout : unit -> (string * int) list
  (** The same, computed by the C compiler from include/libxl_channel.h when the stubs
      were built. *)

  val expected_constants : (string * int) list
  (** The constants the OCaml side relies on: [LIBXL_VERSION], [XLCHANNEL_DOMID_SELF],
      the connection values, every error code ({!int_of_error_code}) and log level. *)

  val header_constants : unit -> (string * int) list

  val check : unit -> (unit, string list) result
  (** Both comparisons; each mismatch as ["<name>: header H, bindings B"]. *)
end

val domid_self : int
(** [XLCHANNEL_DOMID_SELF] *)

val xl_exit_failure : int
(** [XLCHANNEL_XL_EXIT_FAILURE]: xl's exit status where {!Config} returns an error. *)
