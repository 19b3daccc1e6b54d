//! Strict JSON for untrusted token segments and documents.
//!
//! serde_json keeps the last of duplicate members; two parsers that disagree on which one wins
//! are a classic way to smuggle a claim past a check. Everything here refuses duplicate members
//! at every depth, takes escaped member names (`"\u0061lg"`) as their plain spelling, and reads
//! registered claims loosely typed so that validation, not parsing, decides what a wrong type
//! means. Every check is linear in the input (see `docs/architecture.md`, "Strict JSON").
//!
//! The caller's claims type is *not* read here: it is deserialized with plain serde_json after
//! the signature and the registered claims have been checked.

use std::borrow::Cow;

use smallvec::SmallVec;

#[cfg(test)]
mod oracle;
mod scan;

pub(crate) use scan::{Malformed, Name, Scan};

/// Reads `bytes` as one strict JSON object with nothing after it: `each` gets every member's
/// name and must consume its value, answering whether the name is one it knows (see
/// [`Scan::members_known`]).
pub(crate) fn read_object<'de>(
    bytes: &'de [u8],
    each: impl FnMut(&mut Scan<'de>, &Cow<'de, str>) -> Result<Name, Malformed>,
) -> Result<(), Malformed> {
    let mut scan = Scan::new(bytes)?;
    scan.members_known(each)?;
    scan.end()
}

/// A claim or header value read without committing to a type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Loose<'de> {
    /// A string.
    Str(Cow<'de, str>),
    /// A number, with the kind JSON gave it.
    Num(Number),
    /// An array whose elements are all strings (possibly empty).
    Strings(Vec<Cow<'de, str>>),
    /// `true` or `false` (introspection's `active`).
    Bool(bool),
    /// Anything else: null, a boolean, an object, a mixed array.
    Other,
}

/// A JSON number as parsed: unsigned, negative or fractional.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Number {
    U(u64),
    I(i64),
    F(f64),
}

impl Number {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Number::U(n) => n as f64,
            Number::I(n) => n as f64,
            Number::F(n) => n,
        }
    }
}

impl Loose<'_> {
    /// The same value, owning its strings.
    pub(crate) fn into_owned(self) -> Loose<'static> {
        match self {
            Loose::Str(s) => Loose::Str(Cow::Owned(s.into_owned())),
            Loose::Num(n) => Loose::Num(n),
            Loose::Strings(list) => Loose::Strings(
                list.into_iter()
                    .map(|s| Cow::Owned(s.into_owned()))
                    .collect(),
            ),
            Loose::Bool(b) => Loose::Bool(b),
            Loose::Other => Loose::Other,
        }
    }
}

/// The protected header, read strictly.
#[derive(Default)]
pub(crate) struct HeaderView<'de> {
    pub(crate) alg: Option<Loose<'de>>,
    pub(crate) kid: Option<Loose<'de>>,
    pub(crate) typ: Option<Loose<'de>>,
    pub(crate) cty: Option<Loose<'de>>,
    pub(crate) crit: bool,
    pub(crate) b64: bool,
}

impl<'de> HeaderView<'de> {
    /// Reads a protected header: one JSON object, strict, nothing after it.
    pub(crate) fn parse(bytes: &'de [u8]) -> Result<HeaderView<'de>, Malformed> {
        let mut header = HeaderView::default();
        read_object(bytes, |scan, name| {
            Ok(match &**name {
                "alg" => {
                    header.alg = Some(scan.loose()?);
                    Name::Known(0)
                }
                "kid" => {
                    header.kid = Some(scan.loose()?);
                    Name::Known(1)
                }
                "typ" => {
                    header.typ = Some(scan.loose()?);
                    Name::Known(2)
                }
                "cty" => {
                    header.cty = Some(scan.loose()?);
                    Name::Known(3)
                }
                "crit" => {
                    header.crit = true;
                    scan.value()?;
                    Name::Known(4)
                }
                "b64" => {
                    header.b64 = true;
                    scan.value()?;
                    Name::Known(5)
                }
                // `jku`, `x5u`, `x5c`, `jwk` and anything else: never used.
                _ => {
                    scan.value()?;
                    Name::Other
                }
            })
        })?;
        Ok(header)
    }
}

/// What the verifier needs from one extra top-level member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Want {
    /// Only whether it is present (a required claim).
    Presence,
    /// Its value (a one-segment roles or scope path).
    Value,
    /// Its raw text, to walk a nested path (e.g. `realm_access.roles`).
    Raw,
}

/// The registered claims of a payload, plus the members the verifier's issuers asked for.
#[derive(Default)]
pub(crate) struct ClaimsView<'de> {
    pub(crate) iss: Option<Loose<'de>>,
    pub(crate) sub: Option<Loose<'de>>,
    pub(crate) aud: Option<Loose<'de>>,
    pub(crate) exp: Option<Loose<'de>>,
    pub(crate) nbf: Option<Loose<'de>>,
    pub(crate) iat: Option<Loose<'de>>,
    pub(crate) jti: Option<Loose<'de>>,
    pub(crate) client_id: Option<Loose<'de>>,
    pub(crate) scope: Option<Loose<'de>>,
    pub(crate) scp: Option<Loose<'de>>,
    /// The whole document, when it is still borrowed (it was checked to be UTF-8).
    pub(crate) text: Option<&'de str>,
    /// Names of the wanted members that are present.
    present: SmallVec<[Cow<'de, str>; 2]>,
    /// Wanted members read as values.
    values: SmallVec<[(Cow<'de, str>, Loose<'de>); 1]>,
    /// Wanted members kept as raw JSON text (already checked for duplicates).
    raws: SmallVec<[(Cow<'de, str>, Cow<'de, str>); 1]>,
}

impl<'de> ClaimsView<'de> {
    /// The registered claim's place, and its bit for the repeat check.
    fn slot(&mut self, name: &str) -> Option<(u8, &mut Option<Loose<'de>>)> {
        Some(match name {
            "iss" => (0, &mut self.iss),
            "sub" => (1, &mut self.sub),
            "aud" => (2, &mut self.aud),
            "exp" => (3, &mut self.exp),
            "nbf" => (4, &mut self.nbf),
            "iat" => (5, &mut self.iat),
            "jti" => (6, &mut self.jti),
            "client_id" => (7, &mut self.client_id),
            "scope" => (8, &mut self.scope),
            "scp" => (9, &mut self.scp),
            _ => return None,
        })
    }

    fn registered(&self, name: &str) -> Option<&Option<Loose<'de>>> {
        Some(match name {
            "iss" => &self.iss,
            "sub" => &self.sub,
            "aud" => &self.aud,
            "exp" => &self.exp,
            "nbf" => &self.nbf,
            "iat" => &self.iat,
            "jti" => &self.jti,
            "client_id" => &self.client_id,
            "scope" => &self.scope,
            "scp" => &self.scp,
            _ => return None,
        })
    }

    /// Whether the payload has a member called `name` (registered, or one of `wanted`).
    pub(crate) fn has(&self, name: &str) -> bool {
        match self.registered(name) {
            Some(value) => value.is_some(),
            None => self.present.iter().any(|n| n == name),
        }
    }

    /// The raw JSON text of a member wanted as [`Want::Raw`], if present.
    pub(crate) fn raw(&self, name: &str) -> Option<&str> {
        self.raws
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, raw)| &**raw)
    }

    /// The value at `path` (first segment a top-level member), if present.
    pub(crate) fn at_path(&self, path: &[String]) -> Option<Loose<'de>> {
        let (head, rest) = path.split_first()?;
        if let Some(value) = self.registered(head) {
            return if rest.is_empty() { value.clone() } else { None };
        }
        if rest.is_empty() {
            return self
                .values
                .iter()
                .find(|(n, _)| n == head.as_str())
                .map(|(_, v)| v.clone());
        }
        let (_, raw) = self.raws.iter().find(|(n, _)| n == head.as_str())?;
        // The raw text was checked when the payload was parsed; a path into it cannot fail
        // other than by not being there.
        scan::at_path(raw, rest).map(Loose::into_owned)
    }

    /// The same view, owning its strings (for verification that resumes after a key fetch).
    pub(crate) fn into_owned(self) -> ClaimsView<'static> {
        let owned = |v: Option<Loose<'de>>| v.map(Loose::into_owned);
        let name = |n: Cow<'de, str>| Cow::Owned(n.into_owned());
        ClaimsView {
            iss: owned(self.iss),
            sub: owned(self.sub),
            aud: owned(self.aud),
            exp: owned(self.exp),
            nbf: owned(self.nbf),
            iat: owned(self.iat),
            jti: owned(self.jti),
            client_id: owned(self.client_id),
            scope: owned(self.scope),
            scp: owned(self.scp),
            text: None,
            present: self.present.into_iter().map(name).collect(),
            values: self
                .values
                .into_iter()
                .map(|(n, v)| (name(n), v.into_owned()))
                .collect(),
            raws: self
                .raws
                .into_iter()
                .map(|(n, r)| (name(n), name(r)))
                .collect(),
        }
    }
}

/// How many registered claims [`ClaimsView`] has a place for (their repeat-check bits).
const REGISTERED: usize = 10;

/// Parses a payload: one JSON object, no duplicate members at any depth, nothing after it;
/// the registered claims and the `wanted` members are read on the way.
///
/// # Errors
/// When the payload is not such an object.
pub(crate) fn parse_view<'de>(
    bytes: &'de [u8],
    wanted: &[(Box<str>, Want)],
) -> Result<ClaimsView<'de>, Malformed> {
    let mut scan = Scan::new(bytes)?;
    let mut view = ClaimsView {
        text: Some(scan.text()),
        ..ClaimsView::default()
    };
    scan.members_known(|scan, name| {
        if let Some((bit, slot)) = view.slot(name) {
            *slot = Some(scan.loose()?);
            return Ok(Name::Known(bit));
        }
        let Some(index) = wanted.iter().position(|(w, _)| **w == **name) else {
            scan.value()?;
            return Ok(Name::Other);
        };
        match wanted[index].1 {
            Want::Presence => {
                scan.value()?;
                view.present.push(name.clone());
            }
            Want::Value => {
                let value = scan.loose()?;
                view.present.push(name.clone());
                view.values.push((name.clone(), value));
            }
            Want::Raw => {
                let raw = scan.raw()?;
                view.present.push(name.clone());
                view.raws.push((name.clone(), Cow::Borrowed(raw)));
            }
        }
        // The wanted names are distinct (the verifier's list): bits after the registered ones.
        Ok(match u8::try_from(index + REGISTERED) {
            Ok(bit) if bit < 64 => Name::Known(bit),
            _ => Name::Other,
        })
    })?;
    scan.end()?;
    Ok(view)
}

/// The value at `path` (object members by name) in a payload already checked strict.
pub(crate) fn value_at(payload: &[u8], path: &[&str]) -> Option<serde_json::Value> {
    let mut value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    for name in path {
        value = match value {
            serde_json::Value::Object(mut members) => members.remove(*name)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Whether `bytes` is one JSON value without duplicate members anywhere.
pub(crate) fn is_strict_json(bytes: &[u8]) -> bool {
    Scan::new(bytes)
        .and_then(|mut scan| {
            scan.value()?;
            scan.end()
        })
        .is_ok()
}

/// Deserializes strict JSON: refused when any object anywhere repeats a member, otherwise
/// exactly what `serde_json::from_slice` gives.
#[cfg_attr(not(feature = "remote"), allow(dead_code))] // discovery documents
pub(crate) fn from_strict_slice<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
) -> Result<T, Malformed> {
    if !is_strict_json(bytes) {
        return Err(Malformed);
    }
    serde_json::from_slice(bytes).map_err(|_| Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_members_are_refused_at_any_depth() {
        assert!(is_strict_json(br#"{"a":1,"b":{"c":[{"d":1,"e":2}]}}"#));
        assert!(!is_strict_json(br#"{"a":1,"a":1}"#));
        assert!(!is_strict_json(br#"{"a":{"c":1,"c":2}}"#));
        assert!(!is_strict_json(br#"{"a":[{"c":1,"c":2}]}"#));
        assert!(
            !is_strict_json(br#"{"alg":1,"\u0061lg":2}"#),
            "escaped spelling is the same name"
        );
    }

    #[test]
    fn duplicates_are_found_in_large_objects_too() {
        // Past the scan limit the check switches to a hash set: a duplicate at either end of a
        // long object, and names sharing a long prefix, are still found.
        let names: Vec<String> = (0..200)
            .map(|i| format!("https://example.com/claims/{i:04}"))
            .collect();
        let object = |extra: &str| {
            let members: Vec<String> = names.iter().map(|n| format!("\"{n}\":0")).collect();
            format!("{{{}{extra}}}", members.join(","))
        };
        assert!(is_strict_json(object("").as_bytes()));
        assert!(!is_strict_json(
            object(",\"https://example.com/claims/0000\":1").as_bytes()
        ));
        assert!(!is_strict_json(
            object(",\"https://example.com/claims/0199\":1").as_bytes()
        ));
        assert!(!is_strict_json(
            object(",\"https://example.com/claims/00\\u00310\":1").as_bytes()
        ));
        let doubled = object(",\"sub\":\"a\",\"sub\":\"b\"");
        assert!(parse_view(doubled.as_bytes(), &[]).is_err());
    }

    #[test]
    fn header_reads_escaped_names_and_flags_crit_b64_cty() {
        let h =
            HeaderView::parse(br#"{"\u0061lg":"RS256","crit":["exp"],"b64":false,"cty":"JWT"}"#)
                .unwrap();
        assert_eq!(h.alg, Some(Loose::Str("RS256".into())));
        assert_eq!(h.cty, Some(Loose::Str("JWT".into())));
        assert!(h.crit && h.b64);
        assert!(HeaderView::parse(br#"["alg"]"#).is_err());
        assert!(HeaderView::parse(br#"{"alg":"a","alg":"b"}"#).is_err());
    }

    #[test]
    fn claims_view_is_loose_and_keeps_wanted_members() {
        let wanted = vec![
            ("realm_access".into(), Want::Raw),
            ("tenant".into(), Want::Presence),
            ("roles".into(), Want::Value),
        ];
        let bytes = br#"{"exp":"1","aud":["a","b"],"iss":["x"],"realm_access":{"roles":["r1","r2"]},"tenant":7,"roles":["r"]}"#;
        let view = parse_view(bytes, &wanted).unwrap();
        assert_eq!(view.exp, Some(Loose::Str("1".into())));
        assert_eq!(view.aud, Some(Loose::Strings(vec!["a".into(), "b".into()])));
        assert_eq!(view.iss, Some(Loose::Strings(vec!["x".into()])));
        assert!(view.has("tenant") && view.has("exp") && !view.has("sub"));
        let path = ["realm_access".to_owned(), "roles".to_owned()];
        assert_eq!(
            view.at_path(&path),
            Some(Loose::Strings(vec!["r1".into(), "r2".into()]))
        );
        assert_eq!(view.at_path(&["tenant".to_owned(), "x".to_owned()]), None);
        let owned = view.into_owned();
        assert_eq!(
            owned.at_path(&["roles".to_owned()]),
            Some(Loose::Strings(vec!["r".into()]))
        );
        assert_eq!(
            owned.at_path(&path),
            Some(Loose::Strings(vec!["r1".into(), "r2".into()]))
        );
    }

    #[test]
    fn known_names_are_refused_twice_by_their_bit_whatever_the_spelling_or_value() {
        let wanted = vec![
            ("roles".into(), Want::Value),
            ("tenant".into(), Want::Presence),
        ];
        for dup in [
            &br#"{"iss":"a","\u0069ss":"a"}"#[..],
            br#"{"exp":null,"exp":1}"#,
            br#"{"scp":"a","sub":"x","scp":"a"}"#,
            br#"{"roles":["a"],"r\u006fles":["admin"]}"#,
            br#"{"tenant":1,"tenant":1}"#,
        ] {
            assert!(parse_view(dup, &wanted).is_err(), "{dup:?}");
        }
        // Distinct registered and wanted names share no bit.
        let all = br#"{"iss":"i","sub":"s","aud":"a","exp":1,"nbf":1,"iat":1,"jti":"j","client_id":"c","scope":"s","scp":"s","roles":[],"tenant":1,"other":1}"#;
        assert!(parse_view(all, &wanted).is_ok());
        assert!(HeaderView::parse(br#"{"alg":"a","kid":"k","\u0061lg":"a"}"#).is_err());
        assert!(HeaderView::parse(br#"{"crit":[],"b64":true,"crit":[]}"#).is_err());
        assert!(
            HeaderView::parse(br#"{"alg":"a","kid":"k","typ":"t","cty":"c","crit":[],"b64":true}"#)
                .is_ok()
        );
        // Many wanted names: past the bits, the set of names seen takes over.
        let many: Vec<(Box<str>, Want)> = (0..80)
            .map(|i| (format!("w{i}").into(), Want::Presence))
            .collect();
        assert!(parse_view(br#"{"w79":1,"w79":2}"#, &many).is_err());
        assert!(parse_view(br#"{"w1":1,"w79":2,"w53":3,"w54":4}"#, &many).is_ok());
    }

    #[test]
    fn duplicates_inside_any_member_are_refused() {
        let wanted = vec![
            ("realm_access".into(), Want::Raw),
            ("roles".into(), Want::Value),
        ];
        for dup in [
            &br#"{"realm_access":{"roles":["a"],"roles":["admin"]}}"#[..],
            br#"{"x":{"y":1,"y":2}}"#,
            br#"{"x":[{"y":1,"y":2}]}"#,
            br#"{"sub":"a","sub":"b"}"#,
            br#"{"roles":[],"roles":["admin"]}"#,
            br#"{"other":1,"other":2}"#,
        ] {
            assert!(parse_view(dup, &wanted).is_err());
            assert!(from_strict_slice::<serde_json::Value>(dup).is_err());
        }
        assert!(
            parse_view(br#"{"a":1} {"b":2}"#, &[]).is_err(),
            "trailing data"
        );
        assert!(parse_view(br#"[1]"#, &[]).is_err(), "not an object");
    }
}
