//! JSON documents kept in `TEXT` columns, typed.
//!
//! A row field of type [`JsonText<T>`] decodes the column's text as `T` when the row is read;
//! a document that does not decode fails the read (an internal error that names the type and
//! the cause), instead of turning into `T::default()` and answering wrong data as if it were
//! right.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::error::BoxDynError;

/// A `T` stored as JSON text. Read it through a `sqlx::FromRow` field; write it with
/// [`JsonText::encode`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonText<T>(pub T);

impl<T: Serialize> JsonText<T> {
    /// The column text for `value`.
    pub fn encode(value: &T) -> String {
        serde_json::to_string(value).expect("a serializable value encodes as JSON")
    }
}

impl<T: DeserializeOwned> JsonText<T> {
    /// Decodes stored text; the error names the expected type.
    pub fn decode(text: &str) -> Result<JsonText<T>, BoxDynError> {
        serde_json::from_str(text).map(JsonText).map_err(|e| {
            format!(
                "stored JSON is not a valid {}: {e}",
                std::any::type_name::<T>()
            )
            .into()
        })
    }
}

impl<T, DB> sqlx::Type<DB> for JsonText<T>
where
    DB: sqlx::Database,
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, T, DB> sqlx::Decode<'r, DB> for JsonText<T>
where
    T: DeserializeOwned,
    DB: sqlx::Database,
    &'r str: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
        JsonText::decode(text)
    }
}

#[cfg(test)]
mod tests {
    use super::JsonText;

    #[test]
    fn decodes_or_says_why() {
        let ok: JsonText<Vec<String>> = JsonText::decode(r#"["a","b"]"#).unwrap();
        assert_eq!(ok.0, ["a", "b"]);
        let err = JsonText::<Vec<String>>::decode("{broken").unwrap_err();
        assert!(
            err.to_string().contains("stored JSON is not a valid"),
            "{err}"
        );
        assert_eq!(JsonText::encode(&vec![1, 2]), "[1,2]");
    }
}
