//! How a command fails: printed once, with its cause chain and a hint, and
//! mapped to the documented exit code.

use std::fmt;
use std::process::ExitCode;

/// Why a command stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Flags, arguments or configuration.
    Usage(String),
    /// The user did not confirm.
    NotConfirmed(String),
    Rest(hercle::rest::Error),
    Hub(hercle::hub::HubError),
    /// The hub session could not subscribe.
    Subscribe(String),
    /// A venue's stream stopped.
    Venue(String),
    /// Writing output or reading a file.
    Io(std::io::Error),
    /// An answer or file that is not what it should be.
    Invalid(String),
    Interrupted,
}

impl From<hercle::rest::Error> for Failure {
    fn from(e: hercle::rest::Error) -> Self {
        Failure::Rest(e)
    }
}

impl From<hercle::hub::HubError> for Failure {
    fn from(e: hercle::hub::HubError) -> Self {
        Failure::Hub(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        Failure::Invalid(format!("JSON: {e}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::NotConfirmed(m) | Failure::Invalid(m) => f.write_str(m),
            Failure::Rest(e) => write!(f, "{e}"),
            Failure::Hub(e) => write!(f, "{e}"),
            Failure::Subscribe(m) => write!(f, "subscription failed: {m}"),
            Failure::Venue(m) => f.write_str(m),
            Failure::Io(e) => write!(f, "{e}"),
            Failure::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl Failure {
    /// The documented exit code.
    pub(crate) fn exit_code(&self) -> u8 {
        use hercle::rest::{ErrorKind, Outcome};
        match self {
            Failure::Usage(_) => 2,
            Failure::NotConfirmed(_) => 1,
            Failure::Rest(e) => match (e.kind(), e.outcome()) {
                (
                    ErrorKind::Status {
                        status: 401 | 403, ..
                    },
                    _,
                ) => 5,
                (ErrorKind::Decode { .. }, _) => 6,
                (ErrorKind::Build(_), _) => 2,
                (_, Outcome::NotSent) => 3,
                (_, Outcome::Unknown) => 4,
                _ => 1,
            },
            Failure::Hub(e) => {
                use hercle::hub::HubError;
                match e {
                    HubError::OutcomeUnknown { .. } | HubError::Timeout { .. } => 4,
                    HubError::NotSent { .. } | HubError::Closed(_) => 3,
                    HubError::Decode { .. } => 6,
                    HubError::UnknownMethod(_) | HubError::Arguments { .. } => 2,
                    _ => 1,
                }
            }
            Failure::Subscribe(_) | Failure::Venue(_) => 1,
            Failure::Io(_) | Failure::Invalid(_) => 1,
            Failure::Interrupted => 130,
        }
    }

    /// What to do about it, when there is something to say.
    fn hint(&self) -> Option<String> {
        match self.exit_code() {
            3 => Some(
                "is the server running? For a local one: `hercle sandbox` (or pass --env/--base-url)"
                    .to_owned(),
            ),
            4 => Some(match self {
                Failure::Rest(e) => match e.client_id() {
                    Some(id) => format!(
                        "the request may have executed: look it up by its Client-Id {id} before retrying"
                    ),
                    None => "the request may have executed: check before retrying".to_owned(),
                },
                _ => "the request may have executed: look it up by its clientId before retrying"
                    .to_owned(),
            }),
            5 => Some("check HERCLE_API_KEY and the environment (--env)".to_owned()),
            6 => Some("the server answered something this version cannot read; please report it".to_owned()),
            _ => match self {
                Failure::NotConfirmed(_) => Some("pass --yes to confirm without a prompt".to_owned()),
                _ => None,
            },
        }
    }

    fn is_broken_pipe(&self) -> bool {
        matches!(self, Failure::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// Prints the failure once (message, causes, hint) and gives the exit code.
pub(crate) fn report(failure: &Failure) -> ExitCode {
    // The reader went away (`hercle trades | head`): not an error.
    if failure.is_broken_pipe() {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {failure}");
    let mut source = match failure {
        Failure::Rest(e) => std::error::Error::source(e),
        Failure::Hub(e) => std::error::Error::source(e),
        Failure::Io(e) => std::error::Error::source(e),
        _ => None,
    };
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    if let Some(hint) = failure.hint() {
        eprintln!("hint: {hint}");
    }
    ExitCode::from(failure.exit_code())
}
