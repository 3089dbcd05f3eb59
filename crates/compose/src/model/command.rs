use serde::Serialize;

/// A `command` or `entrypoint` value.
///
/// Compose keeps two forms apart: a YAML list is the exact argv (exec form), while a string is
/// split into words the way a POSIX shell would (quotes and backslashes honoured) but is **not**
/// run through `sh -c` — no variables, globs or pipes. Both are kept so the generated compose
/// file shows what the user wrote; [`Command::argv`] gives what the engine receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Command {
    /// The string form, validated at load time to split cleanly.
    Shell(String),
    /// The list form; an empty list clears the image's value (useful for `entrypoint: []`).
    Exec(Vec<String>),
}

impl Command {
    /// The argv the container gets (`Cmd` or `Entrypoint` in the Engine API).
    pub fn argv(&self) -> Vec<String> {
        match self {
            Command::Exec(args) => args.clone(),
            Command::Shell(line) => crate::shell_words::split_lenient(line),
        }
    }
}
