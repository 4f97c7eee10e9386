//! Request bodies of the ingest endpoints, plain or gzip, bounded by `body_limit_bytes` both as
//! sent and as decompressed. A gzip body is decoded while it streams in, into a buffer that
//! refuses to grow past the limit, so a compression bomb costs at most the limit in memory and
//! the time to inflate that much before the 413.

use std::io::Write;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use flate2::write::MultiGzDecoder;
use futures::StreamExt;
use picket_core::ApiError;

/// How the body was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    /// From `Content-Encoding`: none or `identity`, or `gzip` (`x-gzip`); anything else is 415.
    pub fn of(headers: &HeaderMap) -> Result<Encoding, ApiError> {
        let Some(v) = headers.get(header::CONTENT_ENCODING) else {
            return Ok(Encoding::Identity);
        };
        let v = v.to_str().unwrap_or_default().trim().to_ascii_lowercase();
        match v.as_str() {
            "" | "identity" => Ok(Encoding::Identity),
            "gzip" | "x-gzip" => Ok(Encoding::Gzip),
            other => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported Content-Encoding `{other}`: send gzip or an uncompressed body"
                ),
            )),
        }
    }
}

/// A `Vec` that refuses to grow past `limit` bytes.
struct Capped {
    buf: Vec<u8>,
    limit: usize,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "over the body limit",
            ));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn inflate_error(e: std::io::Error, limit: usize) -> ApiError {
    if e.kind() == std::io::ErrorKind::FileTooLarge {
        too_large(limit)
    } else {
        ApiError::bad_request(format!("the body is not valid gzip: {e}"))
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "request body is larger than the limit of {limit} bytes (after decompression); split the batch"
        ),
    )
}

/// Reads the whole body, decompressed, at most `limit` bytes of it.
pub async fn read(body: Body, encoding: Encoding, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut stream = body.into_data_stream();
    let mut raw = 0usize;
    match encoding {
        Encoding::Identity => {
            let mut out = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| read_error(&e, limit))?;
                raw += chunk.len();
                if raw > limit {
                    return Err(too_large(limit));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(out)
        }
        Encoding::Gzip => {
            let mut dec = MultiGzDecoder::new(Capped {
                buf: Vec::new(),
                limit,
            });
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| read_error(&e, limit))?;
                raw += chunk.len();
                if raw > limit {
                    return Err(too_large(limit));
                }
                dec.write_all(&chunk).map_err(|e| inflate_error(e, limit))?;
            }
            if raw == 0 {
                return Ok(Vec::new());
            }
            dec.try_finish().map_err(|e| inflate_error(e, limit))?;
            let out = dec.finish().map_err(|e| inflate_error(e, limit))?;
            Ok(out.buf)
        }
    }
}

/// A body that failed while streaming in: over a transport limit (413) or cut off (400).
fn read_error(e: &axum::Error, limit: usize) -> ApiError {
    let text = e.to_string();
    if text.contains("length limit") {
        too_large(limit)
    } else {
        ApiError::bad_request(format!("could not read the request body: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[tokio::test]
    async fn plain_and_gzip_within_the_limit() {
        let text = b"line one\nline two\n".repeat(100);
        let got = read(Body::from(text.clone()), Encoding::Identity, 10_000)
            .await
            .unwrap();
        assert_eq!(got, text);
        let got = read(Body::from(gzip(&text)), Encoding::Gzip, 10_000)
            .await
            .unwrap();
        assert_eq!(got, text);
        // Concatenated members (what `cat a.gz b.gz` makes) are one body.
        let mut two = gzip(b"a\n");
        two.extend(gzip(b"b\n"));
        let got = read(Body::from(two), Encoding::Gzip, 100).await.unwrap();
        assert_eq!(got, b"a\nb\n");
    }

    #[tokio::test]
    async fn over_the_limit_before_or_after_decompression() {
        let err = read(Body::from(vec![b'x'; 101]), Encoding::Identity, 100)
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        let bomb = gzip(&vec![0u8; 1_000_000]);
        assert!(bomb.len() < 10_000);
        let err = read(Body::from(bomb), Encoding::Gzip, 10_000)
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            err.message.contains("after decompression"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn broken_gzip_is_a_bad_request() {
        let mut g = gzip(b"some text that is long enough to be cut\n");
        g.truncate(g.len() - 6);
        let err = read(Body::from(g), Encoding::Gzip, 10_000)
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        let err = read(Body::from(b"plain text".to_vec()), Encoding::Gzip, 10_000)
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("not valid gzip"), "{}", err.message);
    }

    #[test]
    fn encodings() {
        let mut h = HeaderMap::new();
        assert_eq!(Encoding::of(&h).unwrap(), Encoding::Identity);
        h.insert(header::CONTENT_ENCODING, "GZIP".parse().unwrap());
        assert_eq!(Encoding::of(&h).unwrap(), Encoding::Gzip);
        h.insert(header::CONTENT_ENCODING, "br".parse().unwrap());
        assert_eq!(
            Encoding::of(&h).unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}
