//! Re-signing `aws-chunked` bodies signed chunk by chunk
//! (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`): each chunk's signature
//! chains from the previous one, starting at the request's (seed) signature,
//! so once clawgate re-signs the request every chunk and the trailer must be
//! signed again, as the body streams. Memory stays at one chunk.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::SystemTime;

use aws_sigv4::sign::v4::{self, sign_chunk, sign_trailer};
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::{Buf, Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::AwsCredentials;

/// The largest chunk clawgate holds to sign.
const MAX_CHUNK: usize = 16 << 20;

/// Errors while re-signing a chunked body.
pub type ChunkError = Box<dyn std::error::Error + Send + Sync>;

enum State {
    /// Expecting `<hex size>;chunk-signature=<sig>\r\n`.
    Header,
    /// Expecting `size` bytes of data, then `\r\n`; `size_text` as the agent wrote it.
    Data { size: usize, size_text: String },
    /// Expecting trailer lines, then `x-amz-trailer-signature`.
    Trailers { lines: Vec<(String, String)> },
    /// Expecting the empty line that ends the trailers.
    End,
    /// The body is complete.
    Done,
}

pin_project! {
    /// A body whose chunk and trailer signatures are replaced by clawgate's.
    pub struct Resigned<B> {
        #[pin]
        inner: B,
        input: BytesMut,
        state: State,
        previous: String,
        identity: Identity,
        region: String,
        service: String,
        time: SystemTime,
        trailer: bool,
        ended: bool,
    }
}

impl<B> Resigned<B> {
    /// Re-signs `inner`, whose request was re-signed with `credentials` at
    /// `time` giving `seed`. `trailer` for the `-TRAILER` variant.
    pub fn new(
        inner: B,
        credentials: &AwsCredentials,
        region: &str,
        service: &str,
        time: SystemTime,
        seed: String,
        trailer: bool,
    ) -> Resigned<B> {
        Resigned {
            inner,
            input: BytesMut::new(),
            state: State::Header,
            previous: seed,
            identity: credentials.identity(),
            region: region.to_string(),
            service: service.to_string(),
            time,
            trailer,
            ended: false,
        }
    }
}

impl<B> Body for Resigned<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<ChunkError>,
{
    type Data = Bytes;
    type Error = ChunkError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, ChunkError>>> {
        let mut this = self.project();
        loop {
            let step = Step {
                input: this.input,
                state: this.state,
                previous: this.previous,
                identity: this.identity,
                region: this.region,
                service: this.service,
                time: *this.time,
                trailer: *this.trailer,
            };
            match step.advance() {
                Err(e) => return Poll::Ready(Some(Err(e))),
                Ok(Progress::Output(out)) => return Poll::Ready(Some(Ok(Frame::data(out)))),
                Ok(Progress::Continue) => continue,
                Ok(Progress::NeedMore) if matches!(this.state, State::Done) && *this.ended => {
                    return Poll::Ready(None);
                }
                Ok(Progress::NeedMore) if *this.ended => {
                    return Poll::Ready(Some(Err("the chunked body ended early".into())));
                }
                Ok(Progress::NeedMore) => {}
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        this.input.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                None => *this.ended = true,
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        // Signatures are replaced by signatures of the same length.
        self.inner.size_hint()
    }
}

/// What a parsing step achieved.
enum Progress {
    /// Output to send.
    Output(Bytes),
    /// The state moved on without output.
    Continue,
    /// More input is needed.
    NeedMore,
}

/// One parsing step over the buffered input.
struct Step<'a> {
    input: &'a mut BytesMut,
    state: &'a mut State,
    previous: &'a mut String,
    identity: &'a Identity,
    region: &'a str,
    service: &'a str,
    time: SystemTime,
    trailer: bool,
}

impl Step<'_> {
    /// Produces the next piece of output, `None` when more input is needed.
    fn advance(self) -> Result<Progress, ChunkError> {
        let params = v4::SigningParams::builder()
            .identity(self.identity)
            .region(self.region)
            .name(self.service)
            .time(self.time)
            .settings(())
            .build()?;
        match self.state {
            // Whatever follows the end would make the body longer than it says.
            State::Done if self.input.is_empty() => Ok(Progress::NeedMore),
            State::Done => Err("the chunked body goes on after its end".into()),
            State::Header => {
                let Some(line) = take_line(self.input)? else {
                    return Ok(Progress::NeedMore);
                };
                let (size_text, signature) = line.split_once(";chunk-signature=").ok_or("a chunk has no signature")?;
                if signature.len() != 64 {
                    return Err("a chunk signature is not 64 hex digits".into());
                }
                let size = usize::from_str_radix(size_text.trim(), 16).map_err(|_| "a chunk size is not hex")?;
                if size > MAX_CHUNK {
                    return Err(format!("a chunk of {size} bytes is larger than clawgate re-signs").into());
                }
                *self.state = State::Data {
                    size,
                    size_text: size_text.to_string(),
                };
                Ok(Progress::Continue)
            }
            State::Data { size, size_text } => {
                let last = *size == 0;
                let needed = if last && self.trailer { 0 } else { *size + 2 };
                if self.input.len() < needed {
                    return Ok(Progress::NeedMore);
                }
                let data = self.input.split_to(*size).freeze();
                if needed > 0 {
                    if &self.input[..2] != b"\r\n" {
                        return Err("a chunk does not end with CRLF".into());
                    }
                    self.input.advance(2);
                }
                let signature = sign_chunk(&data, self.previous, &params)?.signature().to_string();
                let mut out = BytesMut::with_capacity(data.len() + 90);
                out.extend_from_slice(format!("{size_text};chunk-signature={signature}\r\n").as_bytes());
                out.extend_from_slice(&data);
                if needed > 0 {
                    out.extend_from_slice(b"\r\n");
                }
                *self.previous = signature;
                *self.state = match (last, self.trailer) {
                    (false, _) => State::Header,
                    (true, true) => State::Trailers { lines: Vec::new() },
                    (true, false) => State::Done,
                };
                Ok(Progress::Output(out.freeze()))
            }
            State::Trailers { lines } => {
                let Some(line) = take_line(self.input)? else {
                    return Ok(Progress::NeedMore);
                };
                let (name, value) = line.split_once(':').ok_or("a trailer line has no colon")?;
                if !name.eq_ignore_ascii_case("x-amz-trailer-signature") {
                    lines.push((name.to_string(), value.to_string()));
                    return Ok(Progress::Continue);
                }
                if value.len() != 64 {
                    return Err("the trailer signature is not 64 hex digits".into());
                }
                let mut headers = aws_smithy_runtime_api::http::Headers::new();
                for (name, value) in lines.iter() {
                    // `insert` panics on a name or value that is not a header's.
                    headers
                        .try_insert(name.clone(), value.clone())
                        .map_err(|_| "a trailer is not a valid header")?;
                }
                let signature = sign_trailer(&headers, self.previous, &params)?.signature().to_string();
                let mut out = String::new();
                for (name, value) in lines.iter() {
                    out.push_str(&format!("{name}:{value}\r\n"));
                }
                out.push_str(&format!("{name}:{signature}\r\n"));
                *self.state = State::End;
                Ok(Progress::Output(Bytes::from(out)))
            }
            State::End => match take_line(self.input)? {
                None => Ok(Progress::NeedMore),
                Some(line) if line.is_empty() => {
                    *self.state = State::Done;
                    Ok(Progress::Output(Bytes::from_static(b"\r\n")))
                }
                Some(_) => Err("the trailers do not end with an empty line".into()),
            },
        }
    }
}

/// The next `\r\n`-terminated line, without it; `None` until one is complete.
fn take_line(input: &mut BytesMut) -> Result<Option<String>, ChunkError> {
    let Some(end) = input.windows(2).position(|w| w == b"\r\n") else {
        if input.len() > 4096 {
            return Err("a chunk header is too long".into());
        }
        return Ok(None);
    };
    let line = input.split_to(end);
    input.advance(2);
    Ok(Some(
        String::from_utf8(line.to_vec()).map_err(|_| "a chunk header is not text")?,
    ))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use http_body_util::{BodyExt, Full};

    use super::*;
    use crate::aws::sigv4::{Placement, Signer};
    use crate::secret::Secret;

    /// The worked example of AWS's documentation ("Signature Calculations for
    /// the Authorization Header: Transferring Payload in Multiple Chunks").
    #[tokio::test]
    async fn the_aws_documentation_example_signs_the_same() {
        let credentials = AwsCredentials {
            access_key_id: Secret::new("AKIAIOSFODNN7EXAMPLE".into()),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            session_token: None,
            expires: None,
        };
        let time = UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24T00:00:00Z
        let signer = Signer {
            credentials: &credentials,
            region: "us-east-1",
            service: "s3",
            time,
        };
        let (mut parts, ()) = http::Request::put("/examplebucket/chunkObject.txt")
            .header("host", "s3.amazonaws.com")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AGENT/20130524/us-east-1/s3/aws4_request, \
                SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class, Signature=00")
            .header("x-amz-date", "20130524T000000Z")
            .header("x-amz-storage-class", "REDUCED_REDUNDANCY")
            .header("content-encoding", "aws-chunked")
            .header("x-amz-decoded-content-length", "66560")
            .header("content-length", "66824")
            .header("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
            .body(())
            .unwrap()
            .into_parts();
        let seed = signer
            .sign(
                &mut parts,
                "s3.amazonaws.com",
                Placement::Headers("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into()),
            )
            .unwrap();
        assert_eq!(seed, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
        let zeros = "0".repeat(64);
        let mut body = Vec::new();
        for size in [65536usize, 1024, 0] {
            body.extend_from_slice(format!("{size:x};chunk-signature={zeros}\r\n").as_bytes());
            body.extend(std::iter::repeat_n(b'a', size));
            body.extend_from_slice(b"\r\n");
        }
        let resigned = Resigned::new(
            Full::new(Bytes::from(body.clone())),
            &credentials,
            "us-east-1",
            "s3",
            time,
            seed,
            false,
        );
        let out = resigned.collect().await.unwrap().to_bytes();
        assert_eq!(out.len(), body.len(), "same length: Content-Length stays true");
        let text = String::from_utf8_lossy(&out);
        for expected in [
            "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
            "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
            "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?}");
        }
    }

    /// `body` re-signed with throwaway credentials.
    async fn resigned(body: String, trailer: bool) -> Result<Bytes, ChunkError> {
        let credentials = AwsCredentials {
            access_key_id: Secret::new("AKIA".into()),
            secret_access_key: Secret::new("s".into()),
            session_token: None,
            expires: None,
        };
        let resigned = Resigned::new(
            Full::new(Bytes::from(body)),
            &credentials,
            "us-east-1",
            "s3",
            SystemTime::now(),
            "x".repeat(64),
            trailer,
        );
        Ok(resigned.collect().await?.to_bytes())
    }

    #[tokio::test]
    async fn a_truncated_body_is_an_error_not_a_short_upload() {
        let body = format!("10;chunk-signature={}\r\nshort", "0".repeat(64));
        assert!(resigned(body, false).await.is_err());
    }

    /// Found by fuzzing: each of these came out longer or shorter than it
    /// went in, so its `Content-Length` no longer held.
    #[tokio::test]
    async fn a_body_that_would_change_length_is_an_error() {
        let sig = "0".repeat(64);
        let last = format!("0;chunk-signature={sig}\r\n");
        let trailer = format!("{last}x-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:{sig}\r\n");
        assert_eq!(
            resigned(format!("{trailer}\r\n"), true).await.unwrap().len(),
            trailer.len() + 2
        );
        for (body, with_trailer) in [
            (format!("{last}x-amz-trailer-signature:00\r\n\r\n"), true),
            (trailer.clone(), true),
            (format!("{trailer}\r\nmore"), true),
            (format!("{trailer}x\r\n"), true),
            (format!("{last}\r\nmore"), false),
        ] {
            assert!(resigned(body.clone(), with_trailer).await.is_err(), "{body:?}");
        }
    }

    /// Found by fuzzing: a trailer whose name is not a header name panicked
    /// inside aws-smithy's `Headers::insert`.
    #[tokio::test]
    async fn a_trailer_that_is_not_a_header_is_an_error_not_a_panic() {
        let sig = "0".repeat(64);
        for trailer in ["x-(mz-checksum-crc32:AAAAAA==", "x-amz-checksum-crc32:\u{7f}"] {
            let body = format!("0;chunk-signature={sig}\r\n{trailer}\r\nx-amz-trailer-signature:{sig}\r\n\r\n");
            assert!(resigned(body, true).await.is_err(), "{trailer:?}");
        }
    }
}
