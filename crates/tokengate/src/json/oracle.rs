// Over 600 lines: the reference parser the fuzzers compare the scanner with, kept whole so it can be read against RFC 8259; half of it is tests.
//! The previous strict JSON layer — serde visitors over serde_json — kept as the oracle for
//! the hand-written scanner: a differential property test feeds both the same documents and
//! requires the same verdict and the same registered claims.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use smallvec::SmallVec;

use super::{ClaimsView, HeaderView, Loose, Number, Want};

/// A member name, borrowed from the input unless it contained escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// Objects with up to this many members are checked by scanning; larger ones switch to a hash
/// set, so the check stays linear however many members an attacker sends.
const SCAN_LIMIT: usize = 16;

/// The names seen so far in one object.
#[derive(Default)]
struct Seen<'de> {
    few: SmallVec<[Cow<'de, str>; SCAN_LIMIT]>,
    /// Every name, once the object outgrows `few`. aHash with keys drawn at random per set:
    /// built for HashDoS resistance (no attacker-chosen collisions without the keys) and, for
    /// short names, about twice as fast as std's SipHash, which took a quarter of a 16 KB
    /// token's verification (`docs/benchmarks.md`, "Token size").
    many: Option<HashSet<Cow<'de, str>, ahash::RandomState>>,
}

impl<'de> Seen<'de> {
    fn insert<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        let fresh = match &mut self.many {
            Some(many) => many.insert(name),
            None if self.few.len() < SCAN_LIMIT => {
                let fresh = !self.few.contains(&name);
                self.few.push(name);
                fresh
            }
            None => {
                let mut many =
                    HashSet::with_capacity_and_hasher(4 * SCAN_LIMIT, ahash::RandomState::new());
                many.extend(self.few.drain(..));
                let fresh = many.insert(name);
                self.many = Some(many);
                fresh
            }
        };
        if fresh {
            Ok(())
        } else {
            Err(E::custom("duplicate member"))
        }
    }
}

/// Any JSON value, walked to refuse duplicate members at every depth, then dropped.
pub(super) struct Checked;

impl<'de> de::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        let mut seen = Seen::default();
        while let Some(Name(name)) = map.next_key()? {
            seen.insert(name)?;
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

impl<'de> de::Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Num(Number::I(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::Num(Number::U(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::Num(Number::F(v)))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut strings = Vec::new();
        let mut all_strings = true;
        while let Some(item) = seq.next_element::<Loose<'de>>()? {
            match item {
                Loose::Str(s) if all_strings => strings.push(s),
                _ => all_strings = false,
            }
        }
        Ok(if all_strings {
            Loose::Strings(strings)
        } else {
            Loose::Other
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        CheckedVisitor.visit_map(map)?;
        Ok(Loose::Other)
    }
}

impl<'de> de::Deserialize<'de> for HeaderView<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = HeaderView<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut header = HeaderView::default();
                let mut seen = Seen::default();
                while let Some(Name(name)) = map.next_key()? {
                    match &*name {
                        "alg" => header.alg = Some(map.next_value()?),
                        "kid" => header.kid = Some(map.next_value()?),
                        "typ" => header.typ = Some(map.next_value()?),
                        "cty" => header.cty = Some(map.next_value()?),
                        "crit" => {
                            header.crit = true;
                            map.next_value::<Checked>()?;
                        }
                        "b64" => {
                            header.b64 = true;
                            map.next_value::<Checked>()?;
                        }
                        // `jku`, `x5u`, `x5c`, `jwk` and anything else: never used.
                        _ => {
                            map.next_value::<Checked>()?;
                        }
                    }
                    seen.insert(name)?;
                }
                Ok(header)
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

/// Reads a payload object into a [`ClaimsView`], walking every member to refuse duplicates.
struct ViewSeed<'w> {
    wanted: &'w [(Box<str>, Want)],
}

impl<'de> DeserializeSeed<'de> for ViewSeed<'_> {
    type Value = ClaimsView<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ViewSeed<'_> {
    type Value = ClaimsView<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut view = ClaimsView::default();
        let mut seen = Seen::default();
        while let Some(Name(name)) = map.next_key()? {
            if let Some((_, slot)) = view.slot(&name) {
                *slot = Some(map.next_value()?);
            } else {
                match self.wanted.iter().find(|(w, _)| **w == *name) {
                    None => {
                        map.next_value::<Checked>()?;
                    }
                    Some((_, Want::Presence)) => {
                        map.next_value::<Checked>()?;
                        view.present.push(name.clone());
                    }
                    Some((_, Want::Value)) => {
                        let value: Loose<'de> = map.next_value()?;
                        view.present.push(name.clone());
                        view.values.push((name.clone(), value));
                    }
                    Some((_, Want::Raw)) => {
                        let raw: &'de RawValue = map.next_value()?;
                        if !is_strict_json(raw.get().as_bytes()) {
                            return Err(de::Error::custom("duplicate member"));
                        }
                        view.present.push(name.clone());
                        view.raws.push((name.clone(), Cow::Borrowed(raw.get())));
                    }
                }
            }
            seen.insert(name)?;
        }
        Ok(view)
    }
}

/// Parses a payload: one JSON object, no duplicate members at any depth, nothing after it.
///
/// # Errors
/// When the payload is not such an object.
pub(super) fn parse_view<'de>(
    bytes: &'de [u8],
    wanted: &[(Box<str>, Want)],
) -> Result<ClaimsView<'de>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let view = ViewSeed { wanted }.deserialize(&mut de)?;
    de.end()?;
    Ok(view)
}

/// Whether `bytes` is one JSON value without duplicate members anywhere, the serde way.
pub(super) fn is_strict_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Checked>(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    use super::super::{self as json, ClaimsView, HeaderView, Want};

    fn same_view<'a>(a: &ClaimsView<'a>, b: &ClaimsView<'a>) -> bool {
        a.iss == b.iss
            && a.sub == b.sub
            && a.aud == b.aud
            && a.exp == b.exp
            && a.nbf == b.nbf
            && a.iat == b.iat
            && a.jti == b.jti
            && a.client_id == b.client_id
            && a.scope == b.scope
            && a.scp == b.scp
            && a.present == b.present
            && a.values == b.values
            && a.raws == b.raws
    }

    fn wanted() -> Vec<(Box<str>, Want)> {
        vec![
            ("cnf".into(), Want::Raw),
            ("realm_access".into(), Want::Raw),
            ("tenant".into(), Want::Presence),
            ("roles".into(), Want::Value),
        ]
    }

    /// Both layers on one document: the same verdict everywhere, and the same claims. Returns
    /// whether the payload was accepted.
    fn agree(doc: &[u8]) -> bool {
        let wanted = wanted();
        let new = json::parse_view(doc, &wanted);
        let old = super::parse_view(doc, &wanted);
        match (&new, &old) {
            (Ok(new), Ok(old)) => {
                assert!(
                    same_view(new, old),
                    "views differ: {:?}",
                    String::from_utf8_lossy(doc)
                );
                for path in [&["realm_access", "roles"][..], &["cnf", "jkt"], &["roles"]] {
                    let path: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
                    assert_eq!(new.at_path(&path), old.at_path(&path));
                }
            }
            (Err(_), Err(_)) => {}
            // The serde layer counted a raw member's nesting from the member; the scanner
            // counts from the document, as serde_json does for the whole document (which the
            // caller's claims type is then read from).
            (Err(_), Ok(_)) if serde_json::from_slice::<serde_json::Value>(doc).is_err() => {}
            _ => panic!(
                "verdicts differ (scanner ok: {}): {:?}",
                new.is_ok(),
                String::from_utf8_lossy(doc)
            ),
        }
        assert_eq!(
            json::is_strict_json(doc),
            super::is_strict_json(doc),
            "strictness differs: {:?}",
            String::from_utf8_lossy(doc)
        );
        let header_new = HeaderView::parse(doc)
            .ok()
            .map(|h| (h.alg, h.kid, h.typ, h.cty, h.crit, h.b64));
        let header_old = serde_json::from_slice::<HeaderView<'_>>(doc)
            .ok()
            .map(|h| (h.alg, h.kid, h.typ, h.cty, h.crit, h.b64));
        assert_eq!(
            header_new,
            header_old,
            "headers differ: {:?}",
            String::from_utf8_lossy(doc)
        );
        new.is_ok()
    }

    const NAMES: &[&str] = &[
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "scope",
        "scp",
        "client_id",
        "cnf",
        "realm_access",
        "roles",
        "tenant",
        "alg",
        "kid",
        "typ",
        "crit",
        "b64",
        "x",
        "",
    ];

    const NUMBERS: &[&str] = &[
        "0",
        "-0",
        "7",
        "1.5",
        "1e2",
        "1E+2",
        "1e-2",
        "2e",
        "1e400",
        "-1e400",
        "0e400",
        "1e-400",
        "1700000000",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775807",
        "-9223372036854775808",
        "-9223372036854775809",
        "1234567890123456789",
        "12345678901234567890",
        "0.0000001",
        "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "1.7976931348623157e308",
        "1.7976931348623159e308",
        "1e0001",
    ];

    const BAD_NUMBERS: &[&str] = &["01", "-", "1.", ".5", "+1", "-00", "1e", "0x1", "1e+"];

    const STRINGS: &[&str] = &[
        "",
        "a",
        "https://issuer.example",
        "read write",
        "\\u0061",
        "\\\"",
        "\\\\",
        "\\/",
        "\\b\\f\\n\\r\\t",
        "\\ud83d\\ude00",
        "é",
        "\u{1F600}",
        "\u{7f}",
    ];

    const BAD_STRINGS: &[&str] = &[
        "\\ud83d",
        "\\ude00",
        "\\ud83dx",
        "\\ud83d\\u0041",
        "\\ud83d\\n",
        "\\x",
        "\\u00g0",
        "\\u00",
        "\t",
        "\n",
    ];

    /// A JSON-ish document: mostly valid, with tricky numbers, escapes and repeated names, then
    /// now and then a byte inserted or removed.
    fn document() -> impl Strategy<Value = Vec<u8>> {
        let name = prop_oneof![
            prop::sample::select(NAMES).prop_map(|n| n.to_owned()),
            "[a-z]{1,3}",
        ];
        let escaped_name = prop::sample::select(NAMES).prop_map(|n| {
            n.chars()
                .map(|c| format!("\\u{:04x}", u32::from(c)))
                .collect::<String>()
        });
        // Top-level names escaped too: registered claims and wanted members are checked for
        // repeats by their own bits there (`Scan::members_known`), after unescaping.
        let top_name = prop_oneof![4 => name.clone(), 1 => escaped_name.clone()];
        let leaf = prop_oneof![
            40 => prop::sample::select(NUMBERS).prop_map(str::to_owned),
            40 => prop::sample::select(STRINGS).prop_map(|s| format!("\"{s}\"")),
            10 => Just("true".to_owned()),
            10 => Just("false".to_owned()),
            10 => Just("null".to_owned()),
            1 => Just("nul".to_owned()),
            1 => prop::sample::select(BAD_NUMBERS).prop_map(str::to_owned),
            1 => prop::sample::select(BAD_STRINGS).prop_map(|s| format!("\"{s}\"")),
        ];
        // Mostly JSON's whitespace; now and then a space JSON does not allow.
        let ws = prop::sample::select(
            &[
                "", "", "", " ", " ", "\n\t", "\r", "", " ", "", " ", "\u{a0}", "\u{c}",
            ][..],
        );
        let value = leaf.prop_recursive(4, 24, 5, move |inner| {
            let member = (
                prop_oneof![4 => name.clone(), 1 => escaped_name.clone()],
                inner.clone(),
                ws.clone(),
            )
                .prop_map(|(n, v, w)| format!("{w}\"{n}\"{w}:{w}{v}{w}"));
            prop_oneof![
                prop::collection::vec(inner, 0..5)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec(member, 0..6)
                    .prop_map(|members| format!("{{{}}}", members.join(","))),
            ]
        });
        let top = (
            prop::collection::vec((top_name, value), 0..10),
            prop::bool::ANY,
        )
            .prop_map(|(members, trailing)| {
                let body: Vec<String> = members
                    .iter()
                    .map(|(n, v)| format!("\"{n}\":{v}"))
                    .collect();
                format!("{{{}}}{}", body.join(","), if trailing { " " } else { "" })
            });
        (
            top,
            prop::option::weighted(
                0.15,
                (
                    any::<prop::sample::Index>(),
                    prop::sample::select(&b"{}[],:\"\\ 0-.eE\x01"[..]),
                    prop::bool::ANY,
                ),
            ),
        )
            .prop_map(|(doc, edit)| {
                let mut bytes = doc.into_bytes();
                if let Some((at, byte, insert)) = edit {
                    let at = at.index(bytes.len() + 1);
                    if insert {
                        bytes.insert(at, byte);
                    } else if at < bytes.len() {
                        bytes.remove(at);
                    }
                }
                bytes
            })
    }

    #[test]
    fn the_scanner_agrees_with_the_serde_layer() {
        // A fixed seed, so CI runs the same cases every time; `TOKENGATE_JSON_CASES` runs more.
        let cases = std::env::var("TOKENGATE_JSON_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(4_000);
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases,
                ..Config::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &[23; 32]),
        );
        let accepted = std::cell::Cell::new(0u32);
        runner
            .run(&document(), |doc| {
                accepted.set(accepted.get() + u32::from(agree(&doc)));
                Ok(())
            })
            .unwrap();
        // Both verdicts are exercised, each in a good share of the cases.
        let accepted = accepted.get();
        assert!(
            accepted > cases / 5 && accepted < cases * 4 / 5,
            "{accepted} of {cases}"
        );
    }

    #[test]
    fn the_scanner_agrees_on_nesting_limits_and_edges() {
        for depth in [1, 2, 126, 127, 128, 129, 400] {
            let arrays = format!("{{\"x\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
            let objects = format!("{{{}0{}}}", "\"a\":{".repeat(depth), "}".repeat(depth));
            agree(arrays.as_bytes());
            agree(objects.as_bytes());
            agree(format!("{{\"cnf\":{}}}", &arrays[5..arrays.len() - 1]).as_bytes());
        }
        for doc in [
            &b""[..],
            b" ",
            b"{}",
            b"{} ",
            b"{}x",
            b"{\"a\":1,}",
            b"{,}",
            b"{\"a\" 1}",
            b"{\"a\":1 \"b\":2}",
            b"[1,]",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":\"\xc3\xa9\"}",
            b"{\"\xc3\xa9\":1,\"\\u00e9\":2}",
            b"\xef\xbb\xbf{}",
            b"{\"iss\":\"a\\u0000b\"}",
            b"{\"exp\":1e400}",
            b"{\"a\":[1e400]}",
            b"{\"a\":\"\\uD800\\uDC00\"}",
            b"{\"a\":\"\\uDBFF\\uDFFF\"}",
            b"{\"roles\":[\"a\",1,\"b\"]}",
            b"{\"roles\":[\"a\",{\"b\":1,\"b\":2}]}",
        ] {
            agree(doc);
        }
    }
}
