//! Talking to a person at a terminal: a spinner while waiting, and
//! confirmations. Nothing here runs when output is piped.

use crate::failure::Failure;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::time::Duration;

/// A spinner on stderr while a slow step runs; cleared when dropped.
pub(crate) struct Spinner {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Spinner {
    /// Spins with `message` if stderr is a terminal.
    pub(crate) fn start(message: &str) -> Spinner {
        if !std::io::stderr().is_terminal() {
            return Spinner { task: None };
        }
        let message = message.to_owned();
        let task = tokio::spawn(async move {
            let frames = ['|', '/', '-', '\\'];
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            for frame in frames.iter().cycle() {
                tick.tick().await;
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r{frame} {message}");
                let _ = err.flush();
            }
        });
        Spinner { task: Some(task) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// Whether stdout is a terminal (live redraws) or a pipe (plain lines).
pub(crate) fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Asks before doing something with money. `--yes` skips the question,
/// except that production asks for `token` to be typed out when there is
/// no `--yes`. Without a terminal there is nobody to ask: refuse.
pub(crate) fn confirm(what: &str, yes: bool, production: bool, token: &str) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::NotConfirmed(format!(
            "not confirmed: {what} (stdin is not a terminal)"
        )));
    }
    let question = if production {
        format!("PRODUCTION: {what}. Type {token} to confirm: ")
    } else {
        format!("{what}? [y/N] ")
    };
    {
        let mut err = std::io::stderr().lock();
        write!(err, "{question}")?;
        err.flush()?;
    }
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let answer = answer.trim();
    let ok = if production {
        answer == token
    } else {
        answer.eq_ignore_ascii_case("y") || answer.eq_ignore_ascii_case("yes")
    };
    if ok {
        Ok(())
    } else {
        Err(Failure::NotConfirmed(format!("not confirmed: {what}")))
    }
}
