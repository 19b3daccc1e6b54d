// Over 600 lines: one scanner; splitting its grammar across files would hide how the pieces share a position.
//! The strict JSON scanner: one forward pass over untrusted bytes that checks the whole grammar
//! (RFC 8259), refuses duplicate members at every depth, and hands the members a caller asks
//! for to it without copying (see `docs/architecture.md`, "Strict JSON").
//!
//! Hand-written rather than a serde visitor over serde_json: the visitor walk was the largest
//! part of a verification's own work (`docs/benchmarks.md`, "Strict JSON scanner and
//! instruction counts"). It accepts exactly what serde_json accepts — the same grammar,
//! nesting limit, string escapes and surrogate rules, and serde_json's own reading of every
//! number it cannot read exactly — which a differential property test (`oracle.rs`) and the
//! `json` fuzz target check.

use std::borrow::Cow;
use std::collections::HashSet;

use smallvec::SmallVec;

use super::{Loose, Number};

/// Why a document was refused. Deliberately without detail: the callers answer with their own
/// words, and nothing from the input travels further.
#[derive(Debug)]
pub(crate) struct Malformed;

type Scanned<T> = Result<T, Malformed>;

/// serde_json's nesting limit (its `remaining_depth` of 128): the 128th nested array or object
/// is refused. The same limit keeps both parsers in agreement and the recursion here bounded.
const MAX_DEPTH: u32 = 128;

/// Bytes that end the plain run of a string: the closing quote, an escape, a control character.
const STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Objects with up to this many members are checked by scanning; larger ones switch to a hash
/// set, so the check stays linear however many members an attacker sends.
const SCAN_LIMIT: usize = 16;

/// How [`Scan::members_known`] checks a member's name for repeats.
#[derive(Clone, Copy)]
pub(crate) enum Name {
    /// A name the caller knows, with a bit (below 64) that no other name of the object gets:
    /// a second member with the bit is a repeat.
    Known(u8),
    /// Any other name: compared with the names seen.
    Other,
}

/// The names seen so far in one object.
#[derive(Default)]
struct Seen<'de> {
    /// Names with a fingerprint (length and last bytes, which tell apart the namespaced names
    /// providers use, `https://example.com/claims/…`), compared in full only when it matches.
    few: SmallVec<[(u64, Cow<'de, str>); SCAN_LIMIT]>,
    /// Every name, once the object outgrows `few`. aHash with keys drawn at random per set:
    /// built for HashDoS resistance (no attacker-chosen collisions without the keys) and, for
    /// short names, about twice as fast as std's SipHash (`docs/benchmarks.md`, "Token size").
    many: Option<HashSet<Cow<'de, str>, ahash::RandomState>>,
}

/// The length and the last four bytes (fewer for shorter names): fixed-size loads, no copy.
fn fingerprint(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let tail = match bytes.len().checked_sub(4) {
        Some(start) => u32::from_le_bytes([
            bytes[start],
            bytes[start + 1],
            bytes[start + 2],
            bytes[start + 3],
        ]),
        None => bytes.iter().fold(0, |word, b| word << 8 | u32::from(*b)),
    };
    (bytes.len() as u64) << 32 | u64::from(tail)
}

impl<'de> Seen<'de> {
    fn insert(&mut self, name: Cow<'de, str>) -> Scanned<()> {
        let fresh = match &mut self.many {
            Some(many) => many.insert(name),
            None if self.few.len() < SCAN_LIMIT => {
                let print = fingerprint(&name);
                let fresh = !self.few.iter().any(|(p, n)| *p == print && *n == name);
                self.few.push((print, name));
                fresh
            }
            None => {
                let mut many =
                    HashSet::with_capacity_and_hasher(4 * SCAN_LIMIT, ahash::RandomState::new());
                many.extend(self.few.drain(..).map(|(_, name)| name));
                let fresh = many.insert(name);
                self.many = Some(many);
                fresh
            }
        };
        if fresh { Ok(()) } else { Err(Malformed) }
    }
}

/// A position in a document that is valid UTF-8 (checked once, up front: outside strings
/// every byte the grammar allows is ASCII, so this is exactly serde_json's per-string check).
pub(crate) struct Scan<'de> {
    text: &'de str,
    at: usize,
    depth: u32,
}

impl<'de> Scan<'de> {
    pub(crate) fn new(bytes: &'de [u8]) -> Scanned<Scan<'de>> {
        let text = std::str::from_utf8(bytes).map_err(|_| Malformed)?;
        Ok(Scan::of(text))
    }

    pub(crate) fn of(text: &'de str) -> Scan<'de> {
        Scan {
            text,
            at: 0,
            depth: 0,
        }
    }

    /// The whole document.
    pub(crate) fn text(&self) -> &'de str {
        self.text
    }

    #[inline]
    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    /// Skips whitespace and returns the next byte, not consuming it.
    #[inline]
    fn next_token(&mut self) -> Scanned<u8> {
        while let Some(b) = self.peek() {
            if !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return Ok(b);
            }
            self.at += 1;
        }
        Err(Malformed)
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> Scanned<()> {
        if self.next_token()? == byte {
            self.at += 1;
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// Nothing but whitespace is left.
    pub(crate) fn end(mut self) -> Scanned<()> {
        match self.next_token() {
            Err(Malformed) => Ok(()),
            Ok(_) => Err(Malformed),
        }
    }

    fn enter(&mut self) -> Scanned<()> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(Malformed);
        }
        Ok(())
    }

    /// The members of an object (next, after whitespace): `each` gets every name and must
    /// consume exactly its value. A repeated name (compared after unescaping) is refused.
    pub(crate) fn members(
        &mut self,
        mut each: impl FnMut(&mut Scan<'de>, &Cow<'de, str>) -> Scanned<()>,
    ) -> Scanned<()> {
        self.members_known(|scan, name| each(scan, name).map(|()| Name::Other))
    }

    /// [`members`](Scan::members) for a caller that knows some names: for those, `each`
    /// answers [`Name::Known`] with a bit of its own, and a repeat is found by that bit alone
    /// (a registered claim costs no name comparison); every other name goes to the set of
    /// names seen.
    pub(crate) fn members_known(
        &mut self,
        mut each: impl FnMut(&mut Scan<'de>, &Cow<'de, str>) -> Scanned<Name>,
    ) -> Scanned<()> {
        self.eat(b'{')?;
        self.enter()?;
        let mut seen = Seen::default();
        let mut known = 0u64;
        if self.next_token()? == b'}' {
            self.at += 1;
        } else {
            loop {
                if self.next_token()? != b'"' {
                    return Err(Malformed);
                }
                let name = self.string()?;
                self.eat(b':')?;
                match each(self, &name)? {
                    Name::Known(bit) => {
                        let mask = 1u64 << bit;
                        if known & mask != 0 {
                            return Err(Malformed);
                        }
                        known |= mask;
                    }
                    Name::Other => seen.insert(name)?,
                }
                match self.next_token()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(Malformed),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// The elements of an array (next, after whitespace): `each` must consume one value.
    fn elements(&mut self, mut each: impl FnMut(&mut Scan<'de>) -> Scanned<()>) -> Scanned<()> {
        self.eat(b'[')?;
        self.enter()?;
        if self.next_token()? == b']' {
            self.at += 1;
        } else {
            loop {
                each(self)?;
                match self.next_token()? {
                    b',' => self.at += 1,
                    b']' => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(Malformed),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Any value, checked and skipped.
    pub(crate) fn value(&mut self) -> Scanned<()> {
        match self.next_token()? {
            b'"' => self.skip_string(),
            b'{' => self.members(|scan, _| scan.value()),
            b'[' => self.elements(Scan::value),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => Err(Malformed),
        }
    }

    /// Any value, returning its text (without surrounding whitespace).
    pub(crate) fn raw(&mut self) -> Scanned<&'de str> {
        self.next_token()?;
        let start = self.at;
        self.value()?;
        Ok(&self.text[start..self.at])
    }

    /// A value read without committing to a type (see [`Loose`]).
    pub(crate) fn loose(&mut self) -> Scanned<Loose<'de>> {
        Ok(match self.next_token()? {
            b'"' => Loose::Str(self.string()?),
            b'[' => {
                let mut strings = Vec::new();
                let mut all_strings = true;
                self.elements(|scan| {
                    if all_strings && scan.next_token()? == b'"' {
                        strings.push(scan.string()?);
                    } else {
                        all_strings = false;
                        scan.value()?;
                    }
                    Ok(())
                })?;
                if all_strings {
                    Loose::Strings(strings)
                } else {
                    Loose::Other
                }
            }
            b't' => {
                self.literal(b"true")?;
                Loose::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Loose::Bool(false)
            }
            b'-' | b'0'..=b'9' => Loose::Num(self.number()?),
            _ => {
                self.value()?;
                Loose::Other
            }
        })
    }

    /// A string or `null` (as serde reads an `Option<String>`); anything else is refused.
    pub(crate) fn optional_string(&mut self) -> Scanned<Option<Cow<'de, str>>> {
        match self.next_token()? {
            b'"' => self.string().map(Some),
            b'n' => self.literal(b"null").map(|()| None),
            _ => Err(Malformed),
        }
    }

    /// A number or `null` (as serde reads an `Option<f64>`); anything else is refused.
    pub(crate) fn optional_number(&mut self) -> Scanned<Option<f64>> {
        match self.next_token()? {
            b'-' | b'0'..=b'9' => self.number().map(|n| Some(n.as_f64())),
            b'n' => self.literal(b"null").map(|()| None),
            _ => Err(Malformed),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Scanned<()> {
        if self.bytes()[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// A number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, read as serde_json
    /// reads it. Plain integers of up to 19 digits are read here (they always fit a `u64`);
    /// anything else — negative, fractional, with an exponent, longer — goes to serde_json
    /// itself, so that its range rule (a value beyond `f64` is refused) and its rounding apply.
    fn number(&mut self) -> Scanned<Number> {
        let bytes = self.bytes();
        let start = self.at;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at - from
        };
        let mut at = start;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        // A plain integer's value is read on the way (19 digits always fit a `u64`).
        let mut value = 0u64;
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => {
                while let Some(digit) = bytes.get(at).filter(|b| b.is_ascii_digit()) {
                    value = value.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
                    at += 1;
                }
            }
            _ => return Err(Malformed),
        }
        let mut plain = bytes[start] != b'-';
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if digits(&mut at) == 0 {
                return Err(Malformed);
            }
            plain = false;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if digits(&mut at) == 0 {
                return Err(Malformed);
            }
            plain = false;
        }
        self.at = at;
        if plain && at - start <= 19 {
            return Ok(Number::U(value));
        }
        let text = &self.text[start..at];
        let number: serde_json::Number = serde_json::from_str(text).map_err(|_| Malformed)?;
        Ok(match (number.as_u64(), number.as_i64(), number.as_f64()) {
            (Some(n), _, _) => Number::U(n),
            (None, Some(n), _) => Number::I(n),
            (None, None, Some(n)) => Number::F(n),
            (None, None, None) => return Err(Malformed),
        })
    }

    /// The end of the plain run starting at `from`: the first quote, backslash or control
    /// character, or the end of the input.
    ///
    /// Eight bytes at a time (SWAR): strings are most of a token's bytes, and a byte loop here
    /// was the scanner's largest cost (`docs/benchmarks.md`, "Strict JSON scanner and
    /// instruction counts").
    #[inline]
    fn plain_end(&self, from: usize) -> usize {
        const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
        const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
        /// The high bit of every byte of `word` that is zero, exact up to the first one
        /// (a borrow can only mark bytes above a zero byte).
        #[inline]
        fn zero_bytes(word: u64) -> u64 {
            word.wrapping_sub(ONES) & !word & HIGH
        }
        let bytes = self.bytes();
        let mut at = from;
        while let Some(chunk) = bytes.get(at..at + 8) {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            let stops = zero_bytes(word ^ (ONES * u64::from(b'"')))
                | zero_bytes(word ^ (ONES * u64::from(b'\\')))
                // Bytes below 0x20 (control characters); bytes of 0x80 and above never match.
                | (word.wrapping_sub(ONES * 0x20) & !word & HIGH);
            if stops != 0 {
                return at + (stops.trailing_zeros() / 8) as usize;
            }
            at += 8;
        }
        while at < bytes.len() && !STRING_STOP[usize::from(bytes[at])] {
            at += 1;
        }
        at
    }

    /// A string (the opening quote next), borrowed from the input unless it has escapes.
    pub(crate) fn string(&mut self) -> Scanned<Cow<'de, str>> {
        self.at += 1;
        let start = self.at;
        let stop = self.plain_end(start);
        match self.bytes().get(stop) {
            Some(b'"') => {
                self.at = stop + 1;
                Ok(Cow::Borrowed(&self.text[start..stop]))
            }
            Some(b'\\') => {
                let mut owned = String::from(&self.text[start..stop]);
                self.at = stop;
                self.escaped(Some(&mut owned))?;
                Ok(Cow::Owned(owned))
            }
            _ => Err(Malformed),
        }
    }

    /// A string (the opening quote next), checked and skipped without copying.
    fn skip_string(&mut self) -> Scanned<()> {
        self.at += 1;
        self.at = self.plain_end(self.at);
        self.escaped(None)
    }

    /// The rest of a string from a quote or a backslash: escapes decoded into `out` (when
    /// given) with the plain runs between them, up to and including the closing quote.
    fn escaped(&mut self, mut out: Option<&mut String>) -> Scanned<()> {
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.at += 1;
                    let ch = self.escape()?;
                    if let Some(out) = out.as_deref_mut() {
                        out.push(ch);
                    }
                    let stop = self.plain_end(self.at);
                    if let Some(out) = out.as_deref_mut() {
                        out.push_str(&self.text[self.at..stop]);
                    }
                    self.at = stop;
                }
                // A control character, or the input ended inside the string.
                _ => return Err(Malformed),
            }
        }
    }

    /// One escape, after its backslash. A `\u` escape of a UTF-16 surrogate must be the
    /// leading half followed at once by `\u` and the trailing half (serde_json's rule for
    /// strings: a lone surrogate is not text).
    fn escape(&mut self) -> Scanned<char> {
        let byte = self.peek().ok_or(Malformed)?;
        self.at += 1;
        Ok(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let lead = self.hex4()?;
                let code = match lead {
                    0xDC00..=0xDFFF => return Err(Malformed),
                    0xD800..=0xDBFF => {
                        if !self.bytes()[self.at..].starts_with(b"\\u") {
                            return Err(Malformed);
                        }
                        self.at += 2;
                        let trail = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&trail) {
                            return Err(Malformed);
                        }
                        0x1_0000 + ((lead - 0xD800) << 10) + (trail - 0xDC00)
                    }
                    _ => lead,
                };
                char::from_u32(code).ok_or(Malformed)?
            }
            _ => return Err(Malformed),
        })
    }

    fn hex4(&mut self) -> Scanned<u32> {
        let digits = self.bytes().get(self.at..self.at + 4).ok_or(Malformed)?;
        let mut n = 0;
        for &d in digits {
            n = n * 16 + char::from(d).to_digit(16).ok_or(Malformed)?;
        }
        self.at += 4;
        Ok(n)
    }
}

/// The value at `path` (object members by name) in a value already checked strict; `None`
/// when it is not there (or, which cannot happen for checked text, the text is malformed).
pub(crate) fn at_path<'de>(text: &'de str, path: &[String]) -> Option<Loose<'de>> {
    fn find<'de>(scan: &mut Scan<'de>, path: &[String]) -> Scanned<Option<Loose<'de>>> {
        let Some((head, rest)) = path.split_first() else {
            return scan.loose().map(Some);
        };
        if scan.next_token()? != b'{' {
            scan.value()?;
            return Ok(None);
        }
        let mut found = None;
        scan.members(|scan, name| {
            if **name == **head {
                found = find(scan, rest)?;
                Ok(())
            } else {
                scan.value()
            }
        })?;
        Ok(found)
    }
    let mut scan = Scan::of(text);
    find(&mut scan, path).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_runs_end_at_the_first_stop_byte_at_any_offset() {
        let naive = |text: &str, from: usize| {
            text.as_bytes()[from..]
                .iter()
                .position(|b| STRING_STOP[usize::from(*b)])
                .map_or(text.len(), |p| from + p)
        };
        // Every stop byte at every offset of runs of plain ASCII, of multi-byte characters and
        // of bytes just beside the stops (0x1f/0x20, 0x21/0x22/0x23, 0x5b/0x5c/0x5d, 0x7f).
        for filler in ["a", "é", "\u{7f}", " ", "!", "#", "[", "]", "\u{1F600}"] {
            for len in 0..24 {
                let plain = filler.repeat(len);
                let scan = Scan::of(&plain);
                for from in 0..=plain.len() {
                    if plain.is_char_boundary(from) {
                        assert_eq!(scan.plain_end(from), naive(&plain, from));
                    }
                }
                for stop in ["\"", "\\", "\u{0}", "\u{1f}", "\n"] {
                    for at in 0..=len {
                        let text =
                            format!("{}{stop}{}", filler.repeat(at), filler.repeat(len - at));
                        let scan = Scan::of(&text);
                        assert_eq!(scan.plain_end(0), at * filler.len(), "{text:?}");
                        assert_eq!(scan.plain_end(0), naive(&text, 0));
                    }
                }
            }
        }
    }

    #[test]
    fn fingerprints_tell_apart_namespaced_names_and_never_hide_a_duplicate() {
        let a = "https://example.com/claims/attribute_0001";
        let b = "https://example.com/claims/attribute_0002";
        assert_ne!(fingerprint(a), fingerprint(b));
        let mut seen = Seen::default();
        seen.insert(Cow::Borrowed(a)).unwrap();
        seen.insert(Cow::Borrowed(b)).unwrap();
        assert!(seen.insert(Cow::Owned(a.to_owned())).is_err());
        // Equal fingerprints (same length, same last four bytes) are compared in full.
        let (c, d) = ("x-suffix1", "y-suffix1");
        assert_eq!(fingerprint(c), fingerprint(d));
        seen.insert(Cow::Borrowed(c)).unwrap();
        seen.insert(Cow::Borrowed(d)).unwrap();
        assert!(seen.insert(Cow::Borrowed(d)).is_err());
    }
}
