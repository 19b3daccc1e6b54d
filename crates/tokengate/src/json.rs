//! Strict JSON for untrusted token segments.
//!
//! serde_json keeps the last of duplicate members; two parsers that disagree on which one wins
//! are a classic way to smuggle a claim past a check. Everything here refuses duplicate members
//! at every depth, takes escaped member names (`"\u0061lg"`) as their plain spelling, and reads
//! registered claims loosely typed so that validation, not parsing, decides what a wrong type
//! means.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use smallvec::SmallVec;

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

/// The names seen so far in one object, each with a cheap fingerprint (length and first
/// bytes) compared before the name itself.
#[derive(Default)]
struct Seen<'de>(SmallVec<[(u64, Cow<'de, str>); 12]>);

fn fingerprint(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut head = [0u8; 8];
    let n = bytes.len().min(6);
    head[..n].copy_from_slice(&bytes[..n]);
    head[6] = (bytes.len() & 0xff) as u8;
    head[7] = ((bytes.len() >> 8) & 0xff) as u8;
    u64::from_le_bytes(head)
}

impl<'de> Seen<'de> {
    // The `Cow` is stored as given: borrowed from the input, or owned when it had escapes.
    #[allow(clippy::ptr_arg)]
    fn insert<E: de::Error>(&mut self, name: &Cow<'de, str>) -> Result<(), E> {
        let print = fingerprint(name);
        if self.0.iter().any(|(p, seen)| *p == print && seen == name) {
            return Err(E::custom("duplicate member"));
        }
        self.0.push((print, name.clone()));
        Ok(())
    }
}

/// Any JSON value, walked to refuse duplicate members at every depth, then dropped.
pub(crate) struct Checked;

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
            seen.insert(&name)?;
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
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
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Loose::Other)
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

/// Reads the value at `path` inside a JSON value (object members by name), checking the whole
/// value for duplicate members on the way.
pub(crate) struct AtPath<'p>(pub(crate) &'p [String]);

impl<'de> DeserializeSeed<'de> for AtPath<'_> {
    type Value = Option<Loose<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        match self.0 {
            [] => <Loose<'de> as de::Deserialize<'de>>::deserialize(deserializer).map(Some),
            _ => deserializer.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for AtPath<'_> {
    type Value = Option<Loose<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        CheckedVisitor.visit_seq(seq)?;
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (head, rest) = self
            .0
            .split_first()
            .expect("AtPath visits only with a non-empty path");
        let mut seen = Seen::default();
        let mut found = None;
        while let Some(Name(name)) = map.next_key()? {
            seen.insert(&name)?;
            if name == head.as_str() {
                found = map.next_value_seed(AtPath(rest))?;
            } else {
                map.next_value::<Checked>()?;
            }
        }
        Ok(found)
    }
}

/// The protected header, read strictly.
#[derive(Default)]
pub(crate) struct HeaderView<'de> {
    pub(crate) alg: Option<Loose<'de>>,
    pub(crate) kid: Option<Loose<'de>>,
    pub(crate) typ: Option<Loose<'de>>,
    pub(crate) crit: bool,
    pub(crate) b64: bool,
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
                    seen.insert(&name)?;
                    match &*name {
                        "alg" => header.alg = Some(map.next_value()?),
                        "kid" => header.kid = Some(map.next_value()?),
                        "typ" => header.typ = Some(map.next_value()?),
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
                }
                Ok(header)
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
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
    /// Names of the wanted members that are present.
    present: SmallVec<[Cow<'de, str>; 2]>,
    /// Wanted members read as values.
    values: SmallVec<[(Cow<'de, str>, Loose<'de>); 1]>,
    /// Wanted members kept raw (already checked for duplicates).
    raws: SmallVec<[(Cow<'de, str>, &'de RawValue); 1]>,
    /// The fast pass met a registered claim it cannot replay to `T`.
    needs_raw: bool,
}

/// The registered claims tokengate reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Claim {
    Iss,
    Sub,
    Aud,
    Exp,
    Nbf,
    Iat,
    Jti,
    ClientId,
    Scope,
    Scp,
}

impl Claim {
    fn from_name(name: &str) -> Option<Claim> {
        Some(match name {
            "iss" => Claim::Iss,
            "sub" => Claim::Sub,
            "aud" => Claim::Aud,
            "exp" => Claim::Exp,
            "nbf" => Claim::Nbf,
            "iat" => Claim::Iat,
            "jti" => Claim::Jti,
            "client_id" => Claim::ClientId,
            "scope" => Claim::Scope,
            "scp" => Claim::Scp,
            _ => return None,
        })
    }
}

/// What the verifier needs from one extra top-level member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Want {
    /// Only whether it is present (a required claim).
    Presence,
    /// Its value (a one-segment roles path).
    Value,
    /// Its raw text, to walk a nested path (e.g. `realm_access.roles`).
    Raw,
}

impl<'de> ClaimsView<'de> {
    fn slot(&mut self, claim: Claim) -> &mut Option<Loose<'de>> {
        match claim {
            Claim::Iss => &mut self.iss,
            Claim::Sub => &mut self.sub,
            Claim::Aud => &mut self.aud,
            Claim::Exp => &mut self.exp,
            Claim::Nbf => &mut self.nbf,
            Claim::Iat => &mut self.iat,
            Claim::Jti => &mut self.jti,
            Claim::ClientId => &mut self.client_id,
            Claim::Scope => &mut self.scope,
            Claim::Scp => &mut self.scp,
        }
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
        let mut de = serde_json::Deserializer::from_str(raw.get());
        AtPath(rest).deserialize(&mut de).ok().flatten()
    }
}

/// Parses a payload once: the caller's `T` is deserialized through a proxy that captures the
/// registered claims (and the `wanted` members) into a [`ClaimsView`] and refuses duplicate
/// members at every depth, whatever `T` does with the values.
///
/// On error, [`parse_view`] tells a structural problem (malformed token) from a `T` that does
/// not fit (invalid claims).
pub(crate) fn parse_payload<'de, T: de::Deserialize<'de>>(
    bytes: &'de [u8],
    wanted: &[(Box<str>, Want)],
) -> Result<(ClaimsView<'de>, T), serde_json::Error> {
    match parse_payload_in(bytes, wanted, false) {
        Err((true, _)) => parse_payload_in(bytes, wanted, true).map_err(|(_, e)| e),
        result => result.map_err(|(_, e)| e),
    }
}

/// One attempt; the error says whether raw mode could succeed where the fast mode stopped.
fn parse_payload_in<'de, T: de::Deserialize<'de>>(
    bytes: &'de [u8],
    wanted: &[(Box<str>, Want)],
    raw: bool,
) -> Result<(ClaimsView<'de>, T), (bool, serde_json::Error)> {
    let mut view = ClaimsView::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Tee {
        de: &mut de,
        raw,
        view: &mut view,
        wanted,
    });
    let value = value
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| (view.needs_raw, e))?;
    Ok((view, value))
}

/// Parses only the [`ClaimsView`] of a payload, checking its whole structure.
pub(crate) fn parse_view<'de>(
    bytes: &'de [u8],
    wanted: &[(Box<str>, Want)],
) -> Result<ClaimsView<'de>, serde_json::Error> {
    parse_payload::<de::IgnoredAny>(bytes, wanted).map(|(view, _)| view)
}

/// The top-level proxy: whatever `T` asks for, the payload is read as an object through
/// [`TeeMap`].
struct Tee<'a, 'w, 'de, D> {
    de: D,
    raw: bool,
    view: &'a mut ClaimsView<'de>,
    wanted: &'w [(Box<str>, Want)],
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Tee<'_, '_, 'de, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.de.deserialize_map(TeeVisitor {
            inner: visitor,
            raw: self.raw,
            view: self.view,
            wanted: self.wanted,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

struct TeeVisitor<'a, 'w, 'de, V> {
    inner: V,
    raw: bool,
    view: &'a mut ClaimsView<'de>,
    wanted: &'w [(Box<str>, Want)],
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TeeVisitor<'_, '_, 'de, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(TeeMap {
            map,
            raw: self.raw,
            view: self.view,
            wanted: self.wanted,
            seen: Seen::default(),
            current: Current::Other,
        })
    }
}

enum Current<'de> {
    Registered(Claim),
    Wanted(Cow<'de, str>, Want),
    Other,
}

struct TeeMap<'a, 'w, 'de, A> {
    map: A,
    raw: bool,
    view: &'a mut ClaimsView<'de>,
    wanted: &'w [(Box<str>, Want)],
    seen: Seen<'de>,
    current: Current<'de>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TeeMap<'_, '_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(Name(name)) = self.map.next_key()? else {
            return Ok(None);
        };
        self.seen.insert(&name)?;
        self.current = if let Some(claim) = Claim::from_name(&name) {
            Current::Registered(claim)
        } else if let Some((_, want)) = self.wanted.iter().find(|(w, _)| **w == *name) {
            Current::Wanted(name.clone(), *want)
        } else {
            Current::Other
        };
        seed.deserialize(NameDeserializer::<A::Error>(name, PhantomData))
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        match std::mem::replace(&mut self.current, Current::Other) {
            Current::Other => self.map.next_value_seed(StrictSeed(seed)),
            Current::Registered(claim) => {
                let (loose, value) = self.read_value(seed)?;
                *self.view.slot(claim) = Some(loose);
                Ok(value)
            }
            Current::Wanted(name, Want::Presence) => {
                self.view.present.push(name);
                self.map.next_value_seed(StrictSeed(seed))
            }
            Current::Wanted(name, Want::Value) => {
                let (loose, value) = self.read_value(seed)?;
                self.view.present.push(name.clone());
                self.view.values.push((name, loose));
                Ok(value)
            }
            Current::Wanted(name, Want::Raw) => {
                let raw: &'de RawValue = self.map.next_value()?;
                serde_json::from_str::<Checked>(raw.get()).map_err(de::Error::custom)?;
                self.view.present.push(name.clone());
                self.view.raws.push((name, raw));
                from_raw(raw, seed)
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> TeeMap<'_, '_, 'de, A> {
    /// Reads the next value once as [`Loose`] and replays it to `seed`. Values `Loose` cannot
    /// replay exactly (null, objects, mixed arrays) stop the fast mode; raw mode reads them
    /// twice instead.
    fn read_value<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<(Loose<'de>, S::Value), A::Error> {
        if self.raw {
            let raw: &'de RawValue = self.map.next_value()?;
            let loose: Loose<'de> = serde_json::from_str(raw.get()).map_err(de::Error::custom)?;
            return Ok((loose, from_raw(raw, seed)?));
        }
        let loose: Loose<'de> = self.map.next_value()?;
        if loose == Loose::Other {
            self.view.needs_raw = true;
            return Err(de::Error::custom("a value needs raw mode"));
        }
        let value = seed.deserialize(LooseDeserializer::<A::Error>(&loose, PhantomData))?;
        Ok((loose, value))
    }
}

/// Replays a captured [`Loose`] value (never `Other`) to the caller's type.
struct LooseDeserializer<'a, 'de, E>(&'a Loose<'de>, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for LooseDeserializer<'_, 'de, E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Loose::Str(s) => StrDeserializer::<E>(s, PhantomData).deserialize_any(visitor),
            Loose::Num(Number::U(n)) => visitor.visit_u64(*n),
            Loose::Num(Number::I(n)) => visitor.visit_i64(*n),
            Loose::Num(Number::F(n)) => visitor.visit_f64(*n),
            Loose::Strings(list) => visitor.visit_seq(StringsSeq::<E>(list.iter(), PhantomData)),
            Loose::Other => Err(E::custom("an unreplayable value")),
        }
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        match self.0 {
            Loose::Str(s) => {
                de::value::StrDeserializer::<E>::new(s).deserialize_enum(name, variants, visitor)
            }
            _ => self.deserialize_any(visitor),
        }
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// A captured string, borrowed from the input when it had no escapes.
struct StrDeserializer<'a, 'de, E>(&'a Cow<'de, str>, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for StrDeserializer<'_, 'de, E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_str(s),
        }
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

struct StringsSeq<'a, 'de, E>(std::slice::Iter<'a, Cow<'de, str>>, PhantomData<E>);

impl<'de, E: de::Error> SeqAccess<'de> for StringsSeq<'_, 'de, E> {
    type Error = E;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, E> {
        self.0
            .next()
            .map(|s| seed.deserialize(StrDeserializer::<E>(s, PhantomData)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// Hands a captured raw value to the caller's seed, still strictly.
fn from_raw<'de, S: DeserializeSeed<'de>, E: de::Error>(
    raw: &'de RawValue,
    seed: S,
) -> Result<S::Value, E> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    seed.deserialize(Strict(&mut de)).map_err(de::Error::custom)
}

/// A member name handed to the caller's key seed (borrowed when the input allows).
struct NameDeserializer<'de, E>(Cow<'de, str>, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for NameDeserializer<'de, E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Cow::Borrowed(name) => visitor.visit_borrowed_str(name),
            Cow::Owned(name) => visitor.visit_string(name),
        }
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// Wraps a seed so the value it reads goes through [`Strict`].
struct StrictSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StrictSeed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

/// A deserializer proxy that refuses duplicate members in every object below it, including
/// values the caller's type ignores.
struct Strict<D>(D);

macro_rules! strict_forward {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.0.$method(StrictVisitor(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    strict_forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier
    );

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        <Checked as de::Deserialize<'de>>::deserialize(self.0)?;
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, StrictVisitor(visitor))
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_newtype_struct(name, StrictVisitor(visitor))
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple(len, StrictVisitor(visitor))
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_tuple_struct(name, len, StrictVisitor(visitor))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_struct(name, fields, StrictVisitor(visitor))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_enum(name, variants, StrictVisitor(visitor))
    }
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

struct StrictVisitor<V>(V);

macro_rules! visit_forward {
    ($($method:ident($ty:ty)),*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for StrictVisitor<V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
    visit_forward!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>)
    );
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Strict(d))
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(d))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(StrictSeq(seq))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(StrictMap {
            map,
            seen: Seen::default(),
        })
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(StrictEnum(data))
    }
}

struct StrictSeq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for StrictSeq<A> {
    type Error = A::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(StrictSeed(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct StrictMap<'de, A> {
    map: A,
    seen: Seen<'de>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for StrictMap<'de, A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(Name(name)) = self.map.next_key()? else {
            return Ok(None);
        };
        self.seen.insert(&name)?;
        seed.deserialize(NameDeserializer::<A::Error>(name, PhantomData))
            .map(Some)
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(StrictSeed(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

struct StrictEnum<A>(A);

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for StrictEnum<A> {
    type Error = A::Error;
    type Variant = StrictVariant<A::Variant>;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(seed)?;
        Ok((value, StrictVariant(variant)))
    }
}

struct StrictVariant<A>(A);

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for StrictVariant<A> {
    type Error = A::Error;
    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.0.newtype_variant_seed(StrictSeed(seed))
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, StrictVisitor(visitor))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, StrictVisitor(visitor))
    }
}

/// Whether `bytes` is one JSON value without duplicate members anywhere.
pub(crate) fn is_strict_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Checked>(bytes).is_ok()
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
    fn header_reads_escaped_names_and_flags_crit_b64() {
        let h: HeaderView<'_> =
            serde_json::from_slice(br#"{"\u0061lg":"RS256","crit":["exp"],"b64":false}"#).unwrap();
        assert_eq!(h.alg, Some(Loose::Str("RS256".into())));
        assert!(h.crit && h.b64);
        assert!(serde_json::from_slice::<HeaderView<'_>>(br#"["alg"]"#).is_err());
        assert!(serde_json::from_slice::<HeaderView<'_>>(br#"{"alg":"a","alg":"b"}"#).is_err());
    }

    #[test]
    fn claims_view_is_loose_and_keeps_wanted_members() {
        let wanted = vec![
            ("realm_access".into(), Want::Raw),
            ("tenant".into(), Want::Presence),
        ];
        let bytes = br#"{"exp":"1","aud":["a","b"],"iss":["x"],"realm_access":{"roles":["r1","r2"]},"tenant":7}"#;
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
    }

    #[test]
    fn duplicates_inside_wanted_members_are_refused() {
        let wanted = vec![("realm_access".into(), Want::Raw)];
        let bytes = br#"{"realm_access":{"roles":["a"],"roles":["admin"]}}"#;
        assert!(parse_view(bytes, &wanted).is_err());
        assert!(parse_view(br#"{"x":{"y":1,"y":2}}"#, &[]).is_err());
        assert!(
            parse_view(br#"{"a":1} {"b":2}"#, &[]).is_err(),
            "trailing data"
        );
        assert!(parse_view(br#"[1]"#, &[]).is_err(), "not an object");
    }

    #[test]
    fn the_callers_type_sees_the_same_values_and_duplicates_are_refused_below_it() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Mine {
            sub: String,
            exp: f64,
            nested: std::collections::HashMap<String, serde_json::Value>,
        }
        let wanted = vec![("roles".into(), Want::Value)];
        let bytes = br#"{"sub":"a","exp":5,"nested":{"k":[{"x":1}]},"roles":["r"],"other":{"z":[1,{"q":null}]}}"#;
        let (view, mine) = parse_payload::<Mine>(bytes, &wanted).unwrap();
        assert_eq!(mine.sub, "a");
        assert_eq!(view.exp, Some(Loose::Num(Number::U(5))));
        assert_eq!(
            view.at_path(&["roles".to_owned()]),
            Some(Loose::Strings(vec!["r".into()]))
        );
        for dup in [
            &br#"{"sub":"a","exp":5,"nested":{"k":1,"k":2}}"#[..],
            br#"{"sub":"a","exp":5,"nested":{},"other":{"z":1,"z":2}}"#,
            br#"{"sub":"a","exp":5,"nested":{},"other":[{"z":1,"z":2}]}"#,
            br#"{"sub":"a","exp":5,"nested":{},"sub":"b"}"#,
            br#"{"sub":"a","exp":5,"nested":{},"roles":[],"roles":["admin"]}"#,
        ] {
            assert!(parse_payload::<Mine>(dup, &wanted).is_err());
            assert!(parse_payload::<serde_json::Value>(dup, &wanted).is_err());
            assert!(parse_view(dup, &wanted).is_err());
        }
        // A type that does not fit fails the full parse but not the view.
        let missing = br#"{"exp":5,"nested":{}}"#;
        assert!(parse_payload::<Mine>(missing, &wanted).is_err());
        assert!(parse_view(missing, &wanted).is_ok());
    }
}
