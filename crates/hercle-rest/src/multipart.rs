//! A sans-IO `multipart/form-data` encoder (RFC 7578): form parts in,
//! body bytes and `Content-Type` out.
//!
//! Each encoding picks a random boundary and checks that it occurs in no
//! part, so no file content can end a part early. Field and file names are
//! escaped as browsers do (`"` → `%22`, CR → `%0D`, LF → `%0A`), so a name
//! cannot inject a header.
//!
//! Written here rather than taken from a crate: the only body we send is one
//! small in-memory form, and the crates that encode multipart come with
//! their own HTTP client or streaming stack.

use hercle_models::FormPart;
use std::fmt;

/// An encoded body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// `multipart/form-data; boundary=…`
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

/// Why a form could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultipartError {
    /// The boundary is empty, longer than 70 characters or holds a
    /// character RFC 2046 does not allow.
    InvalidBoundary,
    /// The boundary occurs in a part (with [`encode_with_boundary`]), or
    /// every random boundary tried did.
    BoundaryInContent,
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MultipartError::InvalidBoundary => "invalid multipart boundary",
            MultipartError::BoundaryInContent => "the multipart boundary occurs in a part",
        })
    }
}

impl std::error::Error for MultipartError {}

/// Random boundaries tried before giving up; with 128 random bits each, a
/// second one is only ever needed for content made to collide.
const TRIES: usize = 8;

/// Encodes `parts` under a boundary built from two draws of `random`,
/// drawing again while the boundary occurs in a part.
pub fn encode(
    parts: &[FormPart<'_>],
    mut random: impl FnMut() -> u64,
) -> Result<Encoded, MultipartError> {
    for _ in 0..TRIES {
        let boundary = format!("hercle-{:016x}{:016x}", random(), random());
        match encode_with_boundary(parts, &boundary) {
            Err(MultipartError::BoundaryInContent) => continue,
            Ok(body) => {
                return Ok(Encoded {
                    content_type: format!("multipart/form-data; boundary={boundary}"),
                    body,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Err(MultipartError::BoundaryInContent)
}

/// Encodes `parts` under `boundary`; refuses a boundary that occurs in a
/// part's name, file name, media type or content.
pub fn encode_with_boundary(
    parts: &[FormPart<'_>],
    boundary: &str,
) -> Result<Vec<u8>, MultipartError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=?".contains(c);
    if boundary.is_empty() || boundary.len() > 70 || !boundary.chars().all(allowed) {
        return Err(MultipartError::InvalidBoundary);
    }
    let b = boundary.as_bytes();
    let occurs = |hay: &[u8]| hay.windows(b.len()).any(|w| w == b);
    let mut size = 8 + b.len();
    for p in parts {
        let texts = [Some(p.name.as_ref()), p.filename, p.content_type];
        if occurs(&p.data) || texts.iter().flatten().any(|t| occurs(t.as_bytes())) {
            return Err(MultipartError::BoundaryInContent);
        }
        size += b.len() + p.data.len() + 128;
    }
    let mut out = Vec::with_capacity(size);
    for p in parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(b);
        out.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
        escape(&p.name, &mut out);
        out.push(b'"');
        if let Some(filename) = p.filename {
            out.extend_from_slice(b"; filename=\"");
            escape(filename, &mut out);
            out.push(b'"');
        }
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = p.content_type {
            out.extend_from_slice(b"Content-Type: ");
            // A media type is one header line: line breaks are dropped.
            out.extend(ct.bytes().filter(|c| !matches!(c, b'\r' | b'\n')));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&p.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(b);
    out.extend_from_slice(b"--\r\n");
    Ok(out)
}

/// A quoted-string value of `Content-Disposition`, escaped as the HTML
/// form encoding algorithm does.
fn escape(text: &str, out: &mut Vec<u8>) {
    for c in text.bytes() {
        match c {
            b'"' => out.extend_from_slice(b"%22"),
            b'\r' => out.extend_from_slice(b"%0D"),
            b'\n' => out.extend_from_slice(b"%0A"),
            c => out.push(c),
        }
    }
}

/// A random source for boundaries: the operating system's.
pub(crate) fn os_random() -> u64 {
    let mut b = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use hercle_models::FileUpload;

    fn text(name: &'static str, v: &str) -> FormPart<'static> {
        FormPart::value(name, v).unwrap()
    }

    #[test]
    fn encodes_text_and_file_parts() {
        let file = FileUpload::new(
            "passport.pdf",
            "application/pdf",
            b"%PDF\r\n\x00\xff".to_vec(),
        );
        let parts = [text("type", "IDENTITY_VERIFICATION"), file.part("file")];
        let body = encode_with_boundary(&parts, "XyZ").unwrap();
        let mut want = b"--XyZ\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nIDENTITY_VERIFICATION\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"passport.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n".to_vec();
        want.extend_from_slice(b"\x00\xff\r\n--XyZ--\r\n");
        assert_eq!(body, want);
        assert_eq!(
            encode_with_boundary(&[], "b").unwrap(),
            b"--b--\r\n".to_vec()
        );
    }

    #[test]
    fn names_cannot_inject_headers() {
        let file = FileUpload::new("a\"b\r\nX-Evil: 1.pdf", "text/plain\r\nX: y", b"x".to_vec());
        let body = encode_with_boundary(&[file.part("f\"ile")], "B").unwrap();
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains("name=\"f%22ile\"; filename=\"a%22b%0D%0AX-Evil: 1.pdf\"\r\n"));
        assert!(body.contains("Content-Type: text/plainX: y\r\n"));
    }

    #[test]
    fn refuses_a_boundary_found_in_a_part_and_bad_boundaries() {
        let parts = [text("note", "a --hercle-Q b")];
        assert_eq!(
            encode_with_boundary(&parts, "hercle-Q"),
            Err(MultipartError::BoundaryInContent)
        );
        assert_eq!(
            encode_with_boundary(&[text("hercle-Q", "x")], "hercle-Q"),
            Err(MultipartError::BoundaryInContent)
        );
        for bad in ["", "a b", "a\"b", &"x".repeat(71)] {
            assert_eq!(
                encode_with_boundary(&parts, bad),
                Err(MultipartError::InvalidBoundary),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_random_boundary_is_redrawn_when_the_content_holds_it() {
        // The first draw's boundary is in the file: the encoder draws again.
        let content = format!("{}{}", "hercle-", "0".repeat(32));
        let file = FileUpload::new("f", "text/plain", content.into_bytes());
        let mut draws = [0u64, 0, 1, 2].into_iter();
        let e = encode(&[file.part("file")], || draws.next().unwrap()).unwrap();
        let want = format!("hercle-{:016x}{:016x}", 1, 2);
        assert_eq!(
            e.content_type,
            format!("multipart/form-data; boundary={want}")
        );
        assert!(e.body.starts_with(format!("--{want}\r\n").as_bytes()));
        // Content that holds every boundary the source gives: a typed error.
        let e = encode(&[file.part("file")], || 0);
        assert_eq!(e, Err(MultipartError::BoundaryInContent));
    }

    #[test]
    fn os_boundaries_differ() {
        let a = encode(&[], os_random).unwrap();
        let b = encode(&[], os_random).unwrap();
        assert_ne!(a.content_type, b.content_type);
    }
}
