//! `multipart/form-data` request bodies, as data: the parts a body is made
//! of ([`FormPart`]) and the file a part carries ([`FileUpload`]). Turning
//! parts into bytes (boundary, headers) is the transport's job
//! (`hercle_rest::multipart`); the generated [`Operation`] of a multipart
//! operation lists its body's parts.
//!
//! [`Operation`]: crate::operation::Operation

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// A file to upload: its name, media type and content. A schema property
/// `type: string, format: binary` is generated as this type.
///
/// JSON has no binary form: in JSON (which only tests and logs see; the
/// operation itself sends multipart) it is its content as a string, so a
/// non-UTF-8 file does not serialise. `Debug` shows the size, not the bytes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FileUpload {
    /// The file name sent in the part's `Content-Disposition`.
    pub filename: String,
    /// The part's `Content-Type`, e.g. `application/pdf`.
    pub content_type: String,
    /// The file's content.
    pub content: Vec<u8>,
}

impl FileUpload {
    /// A file named `filename` of media type `content_type`.
    pub fn new(
        filename: impl Into<String>,
        content_type: impl Into<String>,
        content: impl Into<Vec<u8>>,
    ) -> Self {
        FileUpload {
            filename: filename.into(),
            content_type: content_type.into(),
            content: content.into(),
        }
    }

    /// The form part named `name` carrying this file.
    pub fn part(&self, name: impl Into<Cow<'static, str>>) -> FormPart<'_> {
        FormPart {
            name: name.into(),
            filename: Some(&self.filename),
            content_type: Some(&self.content_type),
            data: Cow::Borrowed(&self.content),
        }
    }
}

impl fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileUpload")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.content.len())
            .finish()
    }
}

impl Serialize for FileUpload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.content) {
            Ok(text) => s.serialize_str(text),
            Err(_) => Err(serde::ser::Error::custom(
                "a binary file has no JSON form; it is sent as multipart/form-data",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for FileUpload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let content = String::deserialize(d)?;
        Ok(FileUpload::new(
            "file",
            "application/octet-stream",
            content.into_bytes(),
        ))
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Clone, PartialEq, Eq)]
pub struct FormPart<'a> {
    /// The form field's name.
    pub name: Cow<'static, str>,
    /// The file name, for a file part.
    pub filename: Option<&'a str>,
    /// The part's media type, for a file part (text parts have none).
    pub content_type: Option<&'a str>,
    /// The part's content.
    pub data: Cow<'a, [u8]>,
}

impl FormPart<'_> {
    /// A text part holding `value` as a form sends it: a JSON string's
    /// characters without quotes, any other value's JSON text (numbers keep
    /// their exact digits: they go through the models' codecs).
    pub fn value<T: Serialize + ?Sized>(
        name: impl Into<Cow<'static, str>>,
        value: &T,
    ) -> Result<FormPart<'static>, serde_json::Error> {
        let json = serde_json::to_string(value)?;
        let text = if json.starts_with('"') {
            serde_json::from_str::<String>(&json)?
        } else {
            json
        };
        Ok(FormPart {
            name: name.into(),
            filename: None,
            content_type: None,
            data: Cow::Owned(text.into_bytes()),
        })
    }
}

impl fmt::Debug for FormPart<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormPart")
            .field("name", &self.name)
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.data.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn text_parts_unquote_strings_and_keep_number_digits() {
        let p = FormPart::value("type", "IDENTITY_VERIFICATION").unwrap();
        assert_eq!(&*p.data, b"IDENTITY_VERIFICATION");
        let p = FormPart::value("q", "say \"hi\"\n").unwrap();
        assert_eq!(&*p.data, b"say \"hi\"\n");
        let d: rust_decimal::Decimal = "0.10000000000000000001".parse().unwrap();
        let p = FormPart::value("amount", &crate::decimal::ExactDecimal(d)).unwrap();
        assert_eq!(&*p.data, b"0.10000000000000000001");
        assert!(p.filename.is_none() && p.content_type.is_none());
    }

    #[test]
    fn file_parts_carry_name_type_and_bytes_and_debug_hides_them() {
        let f = FileUpload::new("id.pdf", "application/pdf", b"%PDF-1.7 secret".to_vec());
        let p = f.part("file");
        assert_eq!(
            (p.name.as_ref(), p.filename, p.content_type),
            ("file", Some("id.pdf"), Some("application/pdf"))
        );
        assert_eq!(&*p.data, b"%PDF-1.7 secret");
        assert!(!format!("{f:?}{p:?}").contains("secret"));
        assert!(serde_json::to_string(&FileUpload::new("b", "x", vec![0xff])).is_err());
    }
}
