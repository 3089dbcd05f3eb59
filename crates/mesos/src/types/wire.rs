//! Serde helpers for Mesos' protobuf ↔ JSON mapping (ref §4.1), which is not proto3 JSON:
//! integers arrive as numbers *or* numeric strings (and must never go through `f64`), doubles also
//! as `"Infinity"`, bools also as `"true"`/`"false"`, `null` means "unset", and `bytes` are standard
//! base64 whose padding is optional on input and always written on output.

use std::fmt;
use std::marker::PhantomData;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde::de::{self, Deserialize, Deserializer, Visitor};

/// Standard alphabet, padding written on output, optional on input (ref §4.1).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Encodes bytes the way Mesos writes a protobuf `bytes` field.
pub fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Decodes a protobuf `bytes` field as Mesos reads it: whitespace ignored, padding optional,
/// URL-safe characters rejected.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact)
}

/// A scalar that Mesos accepts in several JSON spellings.
pub(crate) trait Lenient: Sized {
    const EXPECTING: &'static str;
    fn from_i64(v: i64) -> Option<Self>;
    fn from_u64(v: u64) -> Option<Self>;
    fn from_f64(v: f64) -> Option<Self>;
    fn from_text(v: &str) -> Option<Self>;
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
}

fn integral(v: f64) -> Option<f64> {
    (v.is_finite() && v.fract() == 0.0).then_some(v)
}

macro_rules! lenient_int {
    ($($t:ty),*) => {$(
        impl Lenient for $t {
            const EXPECTING: &'static str = concat!("a ", stringify!($t), " as a JSON number or numeric string");
            fn from_i64(v: i64) -> Option<Self> { <$t>::try_from(v).ok() }
            fn from_u64(v: u64) -> Option<Self> { <$t>::try_from(v).ok() }
            fn from_f64(v: f64) -> Option<Self> {
                let v = integral(v)?;
                (v >= <$t>::MIN as f64 && v <= <$t>::MAX as f64).then(|| v as $t)
            }
            fn from_text(v: &str) -> Option<Self> { v.trim().parse().ok() }
        }
    )*};
}
lenient_int!(i32, u32, i64, u64);

impl Lenient for f64 {
    const EXPECTING: &'static str = "a double as a JSON number or numeric string";
    fn from_i64(v: i64) -> Option<Self> {
        Some(v as f64)
    }
    fn from_u64(v: u64) -> Option<Self> {
        Some(v as f64)
    }
    fn from_f64(v: f64) -> Option<Self> {
        Some(v)
    }
    fn from_text(v: &str) -> Option<Self> {
        v.trim().parse().ok()
    }
}

impl Lenient for bool {
    const EXPECTING: &'static str = "a bool or \"true\"/\"false\"";
    fn from_i64(_: i64) -> Option<Self> {
        None
    }
    fn from_u64(_: u64) -> Option<Self> {
        None
    }
    fn from_f64(_: f64) -> Option<Self> {
        None
    }
    fn from_text(v: &str) -> Option<Self> {
        match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
    fn from_bool(v: bool) -> Option<Self> {
        Some(v)
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<T: Lenient> Visitor<'_> for LenientVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::from_i64(v).ok_or_else(|| E::invalid_value(de::Unexpected::Signed(v), &self))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::from_u64(v).ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        T::from_f64(v).ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::from_text(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        T::from_bool(v).ok_or_else(|| E::invalid_type(de::Unexpected::Bool(v), &self))
    }
}

/// Wrapper deserialized through [`Lenient`]; used for `Option` fields.
struct LenientValue<T>(T);

impl<'de, T: Lenient> Deserialize<'de> for LenientValue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
            .map(LenientValue)
    }
}

/// `deserialize_with` for a required scalar field.
pub(crate) fn lenient<'de, D: Deserializer<'de>, T: Lenient>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(LenientVisitor(PhantomData))
}

/// `deserialize_with` for an optional scalar field (`null` = unset).
pub(crate) fn opt_lenient<'de, D: Deserializer<'de>, T: Lenient>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(Option::<LenientValue<T>>::deserialize(d)?.map(|v| v.0))
}

/// `deserialize_with` for repeated fields: `null` is the same as absent.
pub(crate) fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `with` module for a required `bytes` field.
pub(crate) mod b64 {
    use super::{decode_base64, encode_base64};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode_base64(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        decode_base64(&text).map_err(|e| D::Error::custom(format!("invalid base64: {e}")))
    }
}

/// `with` module for an optional `bytes` field.
pub(crate) mod opt_b64 {
    use super::{decode_base64, encode_base64};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&encode_base64(b)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                decode_base64(&text).map_err(|e| D::Error::custom(format!("invalid base64: {e}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_padding_is_optional_on_input_and_written_on_output() {
        assert_eq!(encode_base64(b"ping"), "cGluZw==");
        assert_eq!(decode_base64("cGluZw==").unwrap(), b"ping");
        assert_eq!(decode_base64("cGluZw").unwrap(), b"ping");
        assert_eq!(decode_base64(" cGlu\nZw== ").unwrap(), b"ping");
        assert!(decode_base64("-_8=").is_err());
    }

    #[test]
    fn lenient_integers_accept_strings_and_large_values() {
        let v: i64 = lenient(&serde_json::json!("9007199254740993")).unwrap();
        assert_eq!(v, 9_007_199_254_740_993);
        let v: i64 = lenient(&serde_json::json!(9_007_199_254_740_993_i64)).unwrap();
        assert_eq!(v, 9_007_199_254_740_993);
        let v: u64 = lenient(&serde_json::json!(5.0)).unwrap();
        assert_eq!(v, 5);
        assert!(lenient::<_, u64>(&serde_json::json!(-1)).is_err());
        assert!(lenient::<_, i64>(&serde_json::json!("x")).is_err());
    }

    #[test]
    fn lenient_doubles_and_bools() {
        let v: f64 = lenient(&serde_json::json!("Infinity")).unwrap();
        assert!(v.is_infinite());
        let v: f64 = lenient(&serde_json::json!("0.5")).unwrap();
        assert_eq!(v, 0.5);
        let v: bool = lenient(&serde_json::json!("true")).unwrap();
        assert!(v);
        let v: Option<bool> = opt_lenient(&serde_json::Value::Null).unwrap();
        assert_eq!(v, None);
    }
}
