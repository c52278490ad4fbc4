//! How an exec or attach session ended, as its caller sees it: the rule every adapter's
//! `wait` applies to what its loop returned and the exit status the session delivered.

use super::{ExecError, ExitStatus};
use crate::Error;

/// The caller's answer from how an exec session's loop `ended` and the `exit` status it
/// delivered (if any). An exit status that arrived counts even if the connection then broke;
/// a clean end without one is [`ExecError::NoExitStatus`].
pub fn exec_outcome(ended: Result<(), Error>, exit: Option<ExitStatus>) -> Result<ExitStatus, Error> {
    match (ended, exit) {
        (Err(e), Some(status)) => {
            log::debug!("exec: the session failed after the exit status: {e}");
            Ok(status)
        }
        (Ok(()), Some(status)) => Ok(status),
        (Ok(()), None) => Err(Error::Exec(ExecError::NoExitStatus { close: None })),
        (Err(e), None) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken() -> Error {
        Error::Io(std::io::ErrorKind::ConnectionReset.into())
    }

    #[test]
    fn an_exit_status_counts_even_after_a_failure() {
        assert_eq!(
            exec_outcome(Err(broken()), Some(ExitStatus::Code(3))).unwrap(),
            ExitStatus::Code(3)
        );
        assert_eq!(
            exec_outcome(Ok(()), Some(ExitStatus::Success)).unwrap(),
            ExitStatus::Success
        );
    }

    #[test]
    fn without_an_exit_status_the_failure_or_no_exit_status() {
        assert!(matches!(
            exec_outcome(Err(broken()), None),
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset
        ));
        assert!(matches!(
            exec_outcome(Ok(()), None),
            Err(Error::Exec(ExecError::NoExitStatus { close: None }))
        ));
    }
}
