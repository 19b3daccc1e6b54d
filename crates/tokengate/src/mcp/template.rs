//! [`UriTemplate`]: the subset of RFC 6570 an MCP resource's scopes are named by — literal
//! text, `{name}` (one or more characters other than `/`) and `{+name}` (one or more of any).

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
enum Part {
    Literal(Box<str>),
    /// `{name}`: no `/`.
    Segment,
    /// `{+name}`: anything.
    Reserved,
}

/// A resource URI or URI template.
#[derive(Clone)]
pub(crate) struct UriTemplate {
    text: Box<str>,
    parts: Vec<Part>,
}

impl fmt::Debug for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

impl UriTemplate {
    /// Parses `text`; an unclosed `{` is literal text.
    pub(crate) fn new(text: &str) -> UriTemplate {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            if open > 0 {
                parts.push(Part::Literal(rest[..open].into()));
            }
            let expression = &rest[open + 1..open + close];
            parts.push(if expression.starts_with('+') {
                Part::Reserved
            } else {
                Part::Segment
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.into()));
        }
        UriTemplate {
            text: text.into(),
            parts,
        }
    }

    /// Whether `uri` is one of the URIs this template stands for.
    pub(crate) fn matches(&self, uri: &str) -> bool {
        matches(&self.parts, uri)
    }
}

fn matches(parts: &[Part], uri: &str) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return uri.is_empty();
    };
    match first {
        Part::Literal(text) => uri
            .strip_prefix(&**text)
            .is_some_and(|after| matches(rest, after)),
        Part::Segment | Part::Reserved => {
            // One character or more, the shortest first; `{name}` stops at a `/`.
            let ends = uri
                .char_indices()
                .skip(1)
                .map(|(at, _)| at)
                .chain((!uri.is_empty()).then_some(uri.len()));
            for at in ends {
                if *first == Part::Segment && uri[..at].contains('/') {
                    return false;
                }
                if matches(rest, &uri[at..]) {
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UriTemplate;

    #[test]
    fn templates_match_what_rfc_6570_expands_them_to() {
        let exact = UriTemplate::new("file:///notes/today.md");
        assert!(exact.matches("file:///notes/today.md"));
        assert!(!exact.matches("file:///notes/today.md.bak"));
        let segment = UriTemplate::new("file:///notes/{id}.md");
        assert!(segment.matches("file:///notes/a.md"));
        assert!(segment.matches("file:///notes/a.b.md"));
        assert!(!segment.matches("file:///notes/.md"));
        assert!(!segment.matches("file:///notes/x/../../secret.md"));
        let reserved = UriTemplate::new("db://{+path}");
        assert!(reserved.matches("db://a/b/c"));
        assert!(!reserved.matches("db://"));
        let two = UriTemplate::new("users://{user}/notes/{note}");
        assert!(two.matches("users://alice/notes/1"));
        assert!(!two.matches("users://alice/x/notes/1"));
        assert!(UriTemplate::new("a{b").matches("a{b"));
    }
}
