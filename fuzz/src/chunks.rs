//! The `aws-chunked` decoder and re-signer: a signed chunked upload body
//! (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, with or without trailer), split
//! into frames at fuzzed points, re-signed as it streams.
//!
//! Input: one byte of flags (bit 0: the `-TRAILER` variant), one byte that
//! seeds the frame sizes, then the body.
//!
//! Properties: a body re-signed without error is exactly as long as the
//! one given (its `Content-Length` stays true) and differs from it only in
//! the 64 hex digits of each signature; re-signing the output again yields
//! it unchanged; how the body is split into frames changes nothing.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use clawgate::aws::AwsCredentials;
use clawgate::aws::chunks::{ChunkError, Resigned};
use clawgate::secret::Secret;
use http_body::{Body, Frame};

/// What precedes each signature clawgate replaces (in any case).
const MARKERS: [&[u8]; 2] = [b";chunk-signature=", b"x-amz-trailer-signature:"];

/// The length of a SigV4 signature in hex.
const SIGNATURE: usize = 64;

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let [flags, split, body @ ..] = data else {
        return;
    };
    let trailer = flags & 1 == 1;
    let Ok(out) = resign(frames(body, *split), trailer) else {
        return;
    };
    assert_eq!(
        out.len(),
        body.len(),
        "the re-signed body is not as long as the one given"
    );
    assert_eq!(
        masked(&out),
        masked_like(body, &out),
        "more than the signatures changed"
    );
    let whole = resign(VecDeque::from([Bytes::copy_from_slice(body)]), trailer);
    assert_eq!(whole.ok().as_ref(), Some(&out), "the framing changed the result");
    let again = resign(VecDeque::from([Bytes::from(out.clone())]), trailer);
    assert_eq!(again.ok().as_ref(), Some(&out), "re-signing the output changed it");
}

/// `body` in frames whose sizes follow from `seed` (1 to 64 bytes each).
fn frames(body: &[u8], seed: u8) -> VecDeque<Bytes> {
    let mut state = u32::from(seed) | 1;
    let mut frames = VecDeque::new();
    let mut rest = body;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (state % 64 + 1) as usize;
        let (frame, tail) = rest.split_at(size.min(rest.len()));
        frames.push_back(Bytes::copy_from_slice(frame));
        rest = tail;
    }
    frames
}

/// The body re-signed with fixed credentials, time and seed signature.
fn resign(frames: VecDeque<Bytes>, trailer: bool) -> Result<Vec<u8>, ChunkError> {
    let credentials = AwsCredentials {
        access_key_id: Secret::new("ASIAREALKEY".into()),
        secret_access_key: Secret::new("realsecret".into()),
        session_token: Some(Secret::new("REALTOKEN".into())),
        expires: None,
    };
    let time = UNIX_EPOCH + Duration::from_secs(1_705_322_096);
    let seed = "0".repeat(SIGNATURE);
    let mut body = Resigned::new(Frames(frames), &credentials, "us-east-1", "s3", time, seed, trailer);
    let mut out = Vec::new();
    let mut context = Context::from_waker(Waker::noop());
    loop {
        match Pin::new(&mut body).poll_frame(&mut context) {
            Poll::Ready(Some(Ok(frame))) => out.extend_from_slice(&frame.into_data().unwrap_or_default()),
            Poll::Ready(Some(Err(e))) => return Err(e),
            Poll::Ready(None) => return Ok(out),
            Poll::Pending => panic!("a body whose input is all ready is pending"),
        }
    }
}

/// `out` with the signature after each marker blanked.
fn masked(out: &[u8]) -> Vec<u8> {
    masked_like(out, out)
}

/// `bytes` with the positions of the signatures in `out` blanked.
fn masked_like(bytes: &[u8], out: &[u8]) -> Vec<u8> {
    let mut masked = bytes.to_vec();
    for marker in MARKERS {
        let found = out.windows(marker.len()).enumerate();
        for (at, _) in found.filter(|(_, w)| w.eq_ignore_ascii_case(marker)) {
            let start = at + marker.len();
            for byte in masked.iter_mut().skip(start).take(SIGNATURE) {
                *byte = b'-';
            }
        }
    }
    masked
}

/// A body of ready frames.
struct Frames(VecDeque<Bytes>);

impl Body for Frames {
    type Data = Bytes;
    type Error = ChunkError;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, ChunkError>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}
