//! Bounds on the identifiers and free text of a specification, shared with every layer
//! that names things (workers, participants, signals), and excerpts of long text for
//! error messages.
//!
//! An identifier ends up in events, stored records, logs, URLs and terminal output, so
//! it is short and holds no control character: a newline or an escape sequence in a task
//! id would forge log lines and garble terminals. Free text (a specification's or a
//! task's name, documentation) is for people and may hold newlines and tabs, but not NUL,
//! which many stores and C libraries take for the end of a string.
//!
//! Messages that quote user text (an expression, an identifier) quote at most
//! [`EXCERPT_CHARS`] characters of it, so that an error about a 28 KB expression is not
//! itself 28 KB.

use std::borrow::Cow;
use std::fmt;

/// The most bytes (of UTF-8) an identifier may have: specification, net, condition and
/// task ids, variable, parameter and field names, services, signals, and the worker and
/// participant names of the runtime.
pub const ID_BYTES_MAX: usize = 256;

/// The most bytes (of UTF-8) a free-text name or documentation may have.
pub const TEXT_BYTES_MAX: usize = 4096;

/// How many characters of a long text an error message quotes (followed by `…`).
pub const EXCERPT_CHARS: usize = 120;

/// Why an identifier or a free text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameProblem {
    /// It has more bytes than allowed.
    #[error("is {bytes} bytes long, more than {max}")]
    TooLong {
        /// Its length in bytes.
        bytes: usize,
        /// The most allowed.
        max: usize,
    },
    /// It holds a character that is not allowed: a control character (U+0000–U+001F,
    /// U+007F–U+009F) in an identifier, NUL in free text.
    #[error("holds the control character {} at byte {at}", CodePoint(*character))]
    ControlCharacter {
        /// The character.
        character: char,
        /// Its byte offset.
        at: usize,
    },
}

/// Renders a character as `U+XXXX`.
struct CodePoint(char);

impl fmt::Display for CodePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U+{:04X}", u32::from(self.0))
    }
}

/// Checks an identifier or a name that works like one (a worker, a participant, a
/// signal): at most `bytes_max` bytes and no control character (U+0000–U+001F,
/// U+007F–U+009F). Specifications use [`ID_BYTES_MAX`].
pub fn check_name(text: &str, bytes_max: usize) -> Result<(), NameProblem> {
    check(text, bytes_max, char::is_control)
}

/// Checks free text meant for people (a name, documentation): at most `bytes_max` bytes
/// and no NUL; newlines and tabs are fine. Specifications use [`TEXT_BYTES_MAX`].
pub fn check_text(text: &str, bytes_max: usize) -> Result<(), NameProblem> {
    check(text, bytes_max, |c| c == '\0')
}

fn check(
    text: &str,
    bytes_max: usize,
    forbidden: impl Fn(char) -> bool,
) -> Result<(), NameProblem> {
    if text.len() > bytes_max {
        return Err(NameProblem::TooLong {
            bytes: text.len(),
            max: bytes_max,
        });
    }
    match text.char_indices().find(|(_, c)| forbidden(*c)) {
        Some((at, character)) => Err(NameProblem::ControlCharacter { character, at }),
        None => Ok(()),
    }
}

/// `text` for an error message: whole if it has at most [`EXCERPT_CHARS`] characters,
/// else its first [`EXCERPT_CHARS`] characters followed by `…`.
pub fn excerpt(text: &str) -> Cow<'_, str> {
    excerpt_chars(text, EXCERPT_CHARS)
}

/// `text` cut to its first `chars_max` characters (on a character boundary), followed by
/// `…` when something was cut.
pub fn excerpt_chars(text: &str, chars_max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(chars_max) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_and_free_of_control_characters() {
        assert_eq!(check_name("Fill Order é/2", ID_BYTES_MAX), Ok(()));
        assert_eq!(check_name(&"a".repeat(ID_BYTES_MAX), ID_BYTES_MAX), Ok(()));
        assert_eq!(
            check_name(&"a".repeat(ID_BYTES_MAX + 1), ID_BYTES_MAX),
            Err(NameProblem::TooLong {
                bytes: 257,
                max: 256
            })
        );
        for (text, character, at) in [
            ("a\nb", '\n', 1),
            ("\0", '\0', 0),
            ("é\u{7f}", '\u{7f}', 2),
            ("x\u{9f}", '\u{9f}', 1),
            ("\u{1b}[31m", '\u{1b}', 0),
        ] {
            assert_eq!(
                check_name(text, ID_BYTES_MAX),
                Err(NameProblem::ControlCharacter { character, at }),
                "{text:?}"
            );
        }
        // U+00A0 (no-break space) is past the C1 block.
        assert_eq!(check_name("a\u{a0}b", ID_BYTES_MAX), Ok(()));
        let shown = check_name("a\tb", 9).map_err(|e| e.to_string());
        assert_eq!(
            shown,
            Err("holds the control character U+0009 at byte 1".to_owned())
        );
    }

    #[test]
    fn free_text_may_hold_newlines_but_not_nul() {
        assert_eq!(check_text("line 1\n\tline 2\r\n", TEXT_BYTES_MAX), Ok(()));
        assert_eq!(
            check_text("a\0", TEXT_BYTES_MAX),
            Err(NameProblem::ControlCharacter {
                character: '\0',
                at: 1
            })
        );
        assert!(matches!(
            check_text(&"x".repeat(TEXT_BYTES_MAX + 1), TEXT_BYTES_MAX),
            Err(NameProblem::TooLong {
                bytes: 4097,
                max: 4096
            })
        ));
    }

    #[test]
    fn excerpts_cut_on_a_character_boundary() {
        assert_eq!(excerpt("short"), "short");
        let exact = "é".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
        let long = "é".repeat(EXCERPT_CHARS + 1);
        assert_eq!(excerpt(&long), format!("{}…", "é".repeat(EXCERPT_CHARS)));
        assert_eq!(excerpt_chars("abcdef", 3), "abc…");
        assert_eq!(excerpt_chars("abc", 0), "…");
        assert_eq!(excerpt_chars("", 0), "");
    }
}
