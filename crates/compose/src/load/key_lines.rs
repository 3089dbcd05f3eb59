//! Best-effort line numbers for errors found after parsing (the YAML value tree carries no
//! positions): the key path is looked up in the block-style source text. When the path cannot
//! be followed (flow style, keys that came in through `<<` merges) the deepest key found is
//! reported, and nothing when not even the first one is.

use crate::error::Location;
use crate::ComposeError;

/// Adds the line of the key to errors located in `file` whose line is unknown.
pub(crate) fn with_line(mut error: ComposeError, file: &str, text: &str) -> ComposeError {
    let at = match &mut error {
        ComposeError::Interpolation { at, .. }
        | ComposeError::UnknownKey { at, .. }
        | ComposeError::UnsupportedKey { at, .. }
        | ComposeError::Invalid { at, .. } => at,
        _ => return error,
    };
    if at.file == file && at.line.is_none() {
        at.line = find_line(text, &key_path(at));
    }
    error
}

/// One step of a key path: a mapping key, optionally followed by a list index.
#[derive(Debug, PartialEq)]
struct Step {
    key: String,
    index: Option<usize>,
}

fn key_path(at: &Location) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(service) = &at.service {
        steps.push(Step {
            key: "services".to_string(),
            index: None,
        });
        steps.push(Step {
            key: service.clone(),
            index: None,
        });
    }
    for part in at.key.split('.').filter(|p| !p.is_empty()) {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse().ok()),
            None => (part, None),
        };
        steps.push(Step {
            key: key.to_string(),
            index,
        });
    }
    steps
}

/// A non-blank, non-comment source line: number, indentation and content.
struct Line<'a> {
    number: usize,
    indent: usize,
    content: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let content = raw.trim_start();
            (!content.is_empty() && !content.starts_with('#')).then(|| Line {
                number: i + 1,
                indent: raw.len() - content.len(),
                content,
            })
        })
        .collect()
}

fn find_line(text: &str, path: &[Step]) -> Option<usize> {
    let all = lines(text);
    // The block being searched: its lines, and the indentation its keys must have.
    let mut block: Vec<Line<'_>> = all;
    let mut best = None;
    for step in path {
        let Some(key_indent) = block.first().map(|l| l.indent) else {
            return best;
        };
        let Some(pos) = block
            .iter()
            .position(|l| l.indent == key_indent && is_key(l.content, &step.key))
        else {
            return best;
        };
        let found = &block[pos];
        best = Some(found.number);
        let parent_indent = found.indent;
        let mut children: Vec<Line<'_>> = block[pos + 1..]
            .iter()
            .take_while(|l| {
                l.indent > parent_indent
                    || (l.indent == parent_indent && l.content.starts_with("- "))
            })
            .map(|l| Line {
                number: l.number,
                indent: l.indent,
                content: l.content,
            })
            .collect();
        if let Some(index) = step.index {
            let Some(item_indent) = children.first().map(|l| l.indent) else {
                return best;
            };
            let starts: Vec<usize> = children
                .iter()
                .enumerate()
                .filter(|(_, l)| l.indent == item_indent && l.content.starts_with('-'))
                .map(|(i, _)| i)
                .collect();
            let Some(&start) = starts.get(index) else {
                return best;
            };
            let end = starts.get(index + 1).copied().unwrap_or(children.len());
            best = Some(children[start].number);
            // The item's own mapping: "- key: v" continues at the indentation after "- ".
            let first = &children[start];
            let rest = first.content[1..].trim_start();
            let item_key_indent = first.indent + (first.content.len() - rest.len());
            let mut item = vec![Line {
                number: first.number,
                indent: item_key_indent,
                content: rest,
            }];
            item.extend(children.drain(start + 1..end));
            children = item;
        }
        if children.is_empty() {
            break;
        }
        block = children;
    }
    best
}

fn is_key(content: &str, key: &str) -> bool {
    [key.to_string(), format!("\"{key}\""), format!("'{key}'")]
        .iter()
        .any(|k| {
            content
                .strip_prefix(k.as_str())
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# comment
services:
  web:
    image: x
    healthcheck:
      intervall: 5s
    ports:
    - \"80\"
    - target: 81
      publishd: 1
  db:
    image: y
    labels:
      com.example.x: y
networks:
  front:
    ipam: {}
";

    fn line(service: Option<&str>, key: &str) -> Option<usize> {
        find_line(TEXT, &key_path(&Location::new("f", service, key)))
    }

    #[test]
    fn finds_nested_keys() {
        assert_eq!(line(Some("web"), "image"), Some(4));
        assert_eq!(line(Some("web"), "healthcheck.intervall"), Some(6));
        assert_eq!(line(Some("db"), "image"), Some(12));
        assert_eq!(line(None, "networks.front.ipam"), Some(17));
    }

    #[test]
    fn finds_list_items() {
        assert_eq!(line(Some("web"), "ports[0]"), Some(8));
        assert_eq!(line(Some("web"), "ports[1].publishd"), Some(10));
        assert_eq!(line(Some("web"), "ports[1].target"), Some(9));
    }

    #[test]
    fn falls_back_to_deepest_key() {
        assert_eq!(line(Some("db"), "labels.com.example.x"), Some(13));
        assert_eq!(line(Some("nope"), "image"), Some(2));
        assert_eq!(line(None, "nothing"), None);
    }
}
