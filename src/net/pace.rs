//! Bodies that keep time: an agent's body must arrive at a minimum pace (a
//! trickle would hold a connection and its upstream socket forever), and a
//! forwarded body says when it has all been sent, so the wait for the
//! response starts then.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

use super::body::BodyError;

/// Why an agent's body failed while clawgate read it: the agent's fault,
/// not the upstream's, wherever it surfaces.
#[derive(Debug, thiserror::Error)]
pub enum AgentBodyError {
    /// The body arrived slower than the gateway allows.
    #[error(
        "the request body arrived slower than {rate} bytes per second (gateway.min_body_rate); \
         {received} bytes came in {}s of waiting",
        waited.as_secs()
    )]
    TooSlow {
        /// The minimum rate.
        rate: u64,
        /// Bytes that did arrive.
        received: u64,
        /// How long clawgate waited for them.
        waited: Duration,
    },
    /// The agent's connection failed or the body was malformed.
    #[error("the request body broke off: {0}")]
    Broken(BodyError),
}

pin_project! {
    /// An agent's body that fails once clawgate has spent longer waiting
    /// for it than its bytes justify at `rate` bytes per second, plus
    /// `grace`. Only time spent waiting on the agent counts: a body not
    /// polled (held for people, or an upstream slow to take it) is not late.
    pub struct Paced<B> {
        #[pin]
        inner: B,
        rate: u64,
        grace: Duration,
        received: u64,
        waited: Duration,
        waiting_since: Option<Instant>,
        #[pin]
        deadline: Option<Sleep>,
        fault: Fault,
    }
}

/// Why an agent's body failed, kept where the request's handler can read
/// it: an HTTP/2 upstream learns only that the stream was reset.
pub type Fault = Arc<OnceLock<String>>;

impl<B> Paced<B> {
    /// `inner`, which must arrive at `rate` bytes per second after `grace`;
    /// a rate of 0 lets any pace through. A failure is also noted in `fault`.
    pub fn new(inner: B, rate: u64, grace: Duration, fault: Fault) -> Paced<B> {
        Paced {
            inner,
            rate,
            grace,
            received: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            deadline: None,
            fault,
        }
    }
}

/// `error`, noted in `fault` and boxed.
fn failed(fault: &Fault, error: AgentBodyError) -> BodyError {
    let _ = fault.set(error.to_string());
    Box::new(error)
}

impl<B> HttpBody for Paced<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BodyError>,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let mut this = self.project();
        let polled = this.inner.poll_frame(cx);
        let now = Instant::now();
        if polled.is_ready() {
            if let Some(since) = this.waiting_since.take() {
                *this.waited += now - since;
            }
            this.deadline.set(None);
            return polled.map(|frame| {
                frame.map(|f| match f {
                    Ok(frame) => {
                        *this.received += frame.data_ref().map_or(0, |d| d.len() as u64);
                        Ok(frame)
                    }
                    Err(e) => Err(failed(this.fault, AgentBodyError::Broken(e.into()))),
                })
            });
        }
        if *this.rate == 0 {
            return Poll::Pending;
        }
        // Waiting on the agent: the time its bytes so far buy runs out at the deadline.
        let since = *this.waiting_since.get_or_insert(now);
        if this.deadline.is_none() {
            let earned = Duration::from_secs_f64(*this.received as f64 / *this.rate as f64) + *this.grace;
            let left = earned.saturating_sub(*this.waited);
            this.deadline.set(Some(tokio::time::sleep_until(since + left)));
        }
        if let Some(deadline) = this.deadline.as_mut().as_pin_mut() {
            ready!(deadline.poll(cx));
        }
        let error = AgentBodyError::TooSlow {
            rate: *this.rate,
            received: *this.received,
            waited: *this.waited + (now - since),
        };
        Poll::Ready(Some(Err(failed(this.fault, error))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// A forwarded body that reports, once, when it has been sent whole (or
    /// dropped unsent).
    pub struct Signalled<B> {
        #[pin]
        inner: B,
        sent: Option<oneshot::Sender<()>>,
    }
}

impl<B: HttpBody> Signalled<B> {
    /// `inner`, and what completes when it is sent; a body already at its
    /// end completes it at once.
    pub fn new(inner: B) -> (Signalled<B>, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let sent = if inner.is_end_stream() {
            let _ = tx.send(());
            None
        } else {
            Some(tx)
        };
        (Signalled { inner, sent }, rx)
    }
}

impl<B: HttpBody> HttpBody for Signalled<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        let polled = ready!(this.inner.as_mut().poll_frame(cx));
        if (polled.is_none() || this.inner.is_end_stream())
            && let Some(sent) = this.sent.take()
        {
            let _ = sent.send(());
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_cut_off_once_its_bytes_no_longer_pay_for_the_wait() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BodyError>>(1);
        let stream = tokio_stream_from(rx);
        let fault = Fault::default();
        let paced = Paced::new(
            StreamBody::new(stream),
            100,
            Duration::from_secs(10),
            Arc::clone(&fault),
        );
        let mut body = std::pin::pin!(paced);
        tokio::spawn(async move {
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_secs(3)).await;
                if tx.send(Ok(Frame::data(Bytes::from_static(b"x")))).await.is_err() {
                    return;
                }
            }
        });
        let started = Instant::now();
        let mut got = 0;
        let error = loop {
            match body.frame().await {
                Some(Ok(_)) => got += 1,
                Some(Err(e)) => break e,
                None => panic!("the trickle ended before it was cut off"),
            }
        };
        // 10 s of grace buys 3 bytes at one per 3 s; the 4th is late.
        assert_eq!(got, 3);
        assert!(started.elapsed() < Duration::from_secs(11), "{:?}", started.elapsed());
        assert!(error.to_string().contains("min_body_rate"), "{error}");
        assert!(fault.get().is_some_and(|f| f.contains("min_body_rate")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_pace_is_read_whole() {
        let chunks: Vec<Result<Frame<Bytes>, BodyError>> =
            (0..50).map(|_| Ok(Frame::data(Bytes::from(vec![0u8; 1000])))).collect();
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            for chunk in chunks {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = tx.send(chunk).await;
            }
        });
        let body = Paced::new(
            StreamBody::new(tokio_stream_from(rx)),
            500,
            Duration::from_secs(10),
            Fault::default(),
        );
        let read = body.collect().await.unwrap().to_bytes();
        assert_eq!(read.len(), 50_000);
    }

    fn tokio_stream_from<T: Send + 'static>(
        mut rx: tokio::sync::mpsc::Receiver<T>,
    ) -> impl futures_util::Stream<Item = T> + Send {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
