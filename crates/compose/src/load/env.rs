//! The variables interpolation sees, and the `.env` / `env_file` format.

use indexmap::IndexMap;

use super::interpolate::interpolate_str;

/// Executor variables never visible to compose files. The Mesos executor token authenticates
/// the executor to the agent; a compose file (written by a task's user) must not be able to
/// copy it into a container with `${MESOS_EXECUTOR_AUTHENTICATION_TOKEN}`.
pub const SECRET_VARIABLES: &[&str] = &["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"];

/// Name fragments that mark a `MESOS_*` or `LIBPROCESS_*` variable as a credential too (the
/// agent's and libprocess' own settings; application variables are not filtered).
const SECRET_FRAGMENTS: &[&str] = &["TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "KEY"];

/// The environment `${VAR}` resolves against (before the `.env` file is layered under it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterpolationEnv {
    vars: IndexMap<String, String>,
}

impl InterpolationEnv {
    /// An empty environment (every variable unset).
    pub fn empty() -> Self {
        Self::default()
    }

    /// The process environment minus secrets (see [`InterpolationEnv::is_secret`]).
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars_os().filter_map(|(k, v)| {
            let (k, v) = (k.into_string().ok()?, v.into_string().ok()?);
            (!Self::is_secret(&k)).then_some((k, v))
        }))
    }

    /// Exactly the given variables (tests, `dce render` with a chosen environment).
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        InterpolationEnv {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Whether `name` is withheld from compose files by [`InterpolationEnv::from_process`]:
    /// any of [`SECRET_VARIABLES`], or a `MESOS_*`/`LIBPROCESS_*` name containing `TOKEN`,
    /// `SECRET`, `PASSWORD`, `CREDENTIAL` or `KEY`.
    pub fn is_secret(name: &str) -> bool {
        if SECRET_VARIABLES.contains(&name) {
            return true;
        }
        let upper = name.to_ascii_uppercase();
        (upper.starts_with("MESOS_") || upper.starts_with("LIBPROCESS_"))
            && SECRET_FRAGMENTS.iter().any(|f| upper.contains(f))
    }

    /// A variable's value when set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Sets a variable.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// This environment with `defaults` (e.g. the `.env` file) filling variables it lacks;
    /// the environment wins, as in compose.
    pub fn layered_over(&self, defaults: &IndexMap<String, Option<String>>) -> InterpolationEnv {
        let mut vars: IndexMap<String, String> = defaults
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect();
        for (k, v) in &self.vars {
            vars.insert(k.clone(), v.clone());
        }
        InterpolationEnv { vars }
    }
}

/// Parses the `.env`/`env_file` format: `KEY=value` lines, optional `export `, `#` comments,
/// single quotes literal, double quotes with `\n \t \" \\` escapes, and `${VAR}` expanded in
/// unquoted and double-quoted values (against earlier lines, then `env`). A bare `KEY` takes
/// its value from `env` (`None` when unset there).
pub fn parse_env_file(
    text: &str,
    env: &InterpolationEnv,
) -> Result<IndexMap<String, Option<String>>, String> {
    let mut out: IndexMap<String, Option<String>> = IndexMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v)),
            None => (line, None),
        };
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(format!("line {line_no}: invalid variable name \"{key}\""));
        }
        let lookup = |name: &str| match out.get(name) {
            Some(Some(v)) => Some(v.clone()),
            _ => env.get(name).map(str::to_string),
        };
        let value = match value {
            None => env.get(key).map(str::to_string),
            Some(v) => Some(
                parse_env_value(v.trim(), &lookup).map_err(|e| format!("line {line_no}: {e}"))?,
            ),
        };
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

fn parse_env_value(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    if let Some(inner) = value.strip_prefix('\'') {
        let end = inner.find('\'').ok_or("unterminated single quote")?;
        return Ok(inner[..end].to_string());
    }
    if let Some(inner) = value.strip_prefix('"') {
        let mut unescaped = String::new();
        let mut chars = inner.chars();
        loop {
            match chars.next() {
                None => return Err("unterminated double quote".to_string()),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n') => unescaped.push('\n'),
                    Some('t') => unescaped.push('\t'),
                    Some('r') => unescaped.push('\r'),
                    Some(c @ ('"' | '\\' | '$')) => {
                        if c == '$' {
                            unescaped.push('$');
                        }
                        unescaped.push(c);
                    }
                    Some(c) => {
                        unescaped.push('\\');
                        unescaped.push(c);
                    }
                    None => return Err("unterminated double quote".to_string()),
                },
                Some(c) => unescaped.push(c),
            }
        }
        return interpolate_str(&unescaped, lookup);
    }
    let unquoted = match value.find(" #") {
        Some(pos) => value[..pos].trim_end(),
        None => value,
    };
    interpolate_str(unquoted, lookup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_filtered() {
        assert!(InterpolationEnv::is_secret(
            "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"
        ));
        assert!(InterpolationEnv::is_secret("LIBPROCESS_SSL_KEY_PASSWORD"));
        assert!(!InterpolationEnv::is_secret("MESOS_SANDBOX"));
        assert!(!InterpolationEnv::is_secret("DB_PASSWORD"));
        assert!(!InterpolationEnv::is_secret("HOME"));
    }

    #[test]
    fn env_file_syntax() {
        let env = InterpolationEnv::from_vars([("HOST_VAR", "h"), ("PASS", "p")]);
        let text = "# comment\n\nA=1\nexport B = two words \nC='lit ${A}'\nD=\"q\\n${A}\"\nE=${A}x # trailing\nPASS\nMISSING\nF=\n";
        let parsed = parse_env_file(text, &env).unwrap();
        let get = |k: &str| parsed.get(k).cloned().flatten();
        assert_eq!(get("A").as_deref(), Some("1"));
        assert_eq!(get("B").as_deref(), Some("two words"));
        assert_eq!(get("C").as_deref(), Some("lit ${A}"));
        assert_eq!(get("D").as_deref(), Some("q\n1"));
        assert_eq!(get("E").as_deref(), Some("1x"));
        assert_eq!(get("PASS").as_deref(), Some("p"));
        assert_eq!(parsed.get("MISSING"), Some(&None));
        assert_eq!(get("F").as_deref(), Some(""));
    }

    #[test]
    fn env_file_errors_name_the_line() {
        let err = parse_env_file("A=1\nB=\"open\n", &InterpolationEnv::empty()).unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
    }

    #[test]
    fn environment_wins_over_dotenv() {
        let env = InterpolationEnv::from_vars([("A", "env")]);
        let dotenv: IndexMap<String, Option<String>> = [
            ("A".to_string(), Some("file".to_string())),
            ("B".to_string(), Some("file".to_string())),
        ]
        .into_iter()
        .collect();
        let layered = env.layered_over(&dotenv);
        assert_eq!(layered.get("A"), Some("env"));
        assert_eq!(layered.get("B"), Some("file"));
    }
}
