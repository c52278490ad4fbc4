//! Arbitrary bytes as an exec plugin's stdout: parsing must never panic, and the result must
//! never print a secret in Debug.
#![no_main]

use klient_proto::config::{EXEC_API_V1, EXEC_API_V1BETA1, ExecConfig, parse_exec_output};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for version in [EXEC_API_V1, EXEC_API_V1BETA1] {
        let exec = ExecConfig { command: "plugin".into(), api_version: Some(version.into()), ..ExecConfig::default() };
        match parse_exec_output(&exec, data) {
            Ok(credential) => {
                let _ = format!("{credential:?}");
                let _ = credential.is_valid_at(std::time::SystemTime::UNIX_EPOCH);
            }
            Err(error) => {
                let _ = format!("{error} {error:?}");
            }
        }
    }
});
