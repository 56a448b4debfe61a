#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| xlchannel_fuzz::json_parse(data));
