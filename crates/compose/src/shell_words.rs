//! POSIX-shell-like word splitting for the string form of `command`/`entrypoint`, as compose
//! does it: quotes and backslashes are honoured, nothing is expanded.

/// Why a string cannot be split into words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A quote was opened and never closed.
    #[error("unterminated {0} quote")]
    UnterminatedQuote(char),
    /// The string ends in a lone backslash.
    #[error("trailing backslash")]
    TrailingBackslash,
}

/// Splits `line` into words, failing on unbalanced quotes or a trailing backslash.
pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(next) => word.push(next),
                    None => return Err(SplitError::TrailingBackslash),
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(other) => word.push(other),
                        None => return Err(SplitError::UnterminatedQuote('\'')),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(next @ ('"' | '\\' | '$' | '`')) => word.push(next),
                            Some(next) => {
                                word.push('\\');
                                word.push(next);
                            }
                            None => return Err(SplitError::UnterminatedQuote('"')),
                        },
                        Some(other) => word.push(other),
                        None => return Err(SplitError::UnterminatedQuote('"')),
                    }
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Like [`split`], but never fails: used on strings already validated at load time, and
/// otherwise falls back to whitespace splitting.
pub fn split_lenient(line: &str) -> Vec<String> {
    split(line).unwrap_or_else(|_| line.split_whitespace().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plain_words() {
        assert_eq!(split("sleep  3600").unwrap(), ["sleep", "3600"]);
    }

    #[test]
    fn honours_quotes_and_escapes() {
        assert_eq!(
            split(r#"sh -c 'echo $HOME; exit 1' "a \"b\"" c\ d"#).unwrap(),
            ["sh", "-c", "echo $HOME; exit 1", "a \"b\"", "c d"]
        );
        assert_eq!(split(r#"x "" y"#).unwrap(), ["x", "", "y"]);
    }

    #[test]
    fn rejects_unbalanced_quotes() {
        assert_eq!(split("echo 'a"), Err(SplitError::UnterminatedQuote('\'')));
        assert_eq!(split("echo \\"), Err(SplitError::TrailingBackslash));
    }
}
