//! Plain-http connections that know when each byte reached this machine.
//!
//! A token's arrival time is the moment the kernel received its packet, not the moment the
//! client got round to reading it. Under load the difference is the whole ITL error: at
//! concurrency 256 a server's decode step emits 256 tokens at once, and one event loop that
//! timestamps each after reading it stamps the last ~2 ms late, by a different amount at
//! every step. So every read of the socket asks for the kernel's receive timestamp
//! (`SO_TIMESTAMPNS`, returned by `recvmsg` with the bytes), converts it to an `Instant`,
//! and remembers which buffer addresses that read filled. hyper's HTTP/1 decoder hands out
//! body frames as slices of that same buffer, so a frame's address names the read, and the
//! read its arrival time ([`Landings::at`]). Where the kernel gives no timestamp the read's
//! own time stands in, which is still before any parsing.
//!
//! Used for `http://` endpoints reached without a proxy (TLS decrypts into other buffers,
//! a proxy is another hop); everything else goes through reqwest, timed after each read.
//!
//! Unsafe code, each block with its reason: `recvmsg` with control messages (no crate in
//! the build wraps it for a tokio socket) and hyper's uninitialised read buffer.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use tokio::io::{AsyncWrite, Interest};
use tokio::net::TcpStream;

/// The client for stamped connections: HTTP/1.1 with keep-alive, bodies sent whole.
pub type Client = hyper_util::client::legacy::Client<Connector, http_body_util::Full<bytes::Bytes>>;

/// A keep-alive client over [`Connector`], `pool_size` idle connections per host (0: a
/// new connection for every request), none reused after `idle` without a request.
pub fn client(connect_timeout: Duration, pool_size: usize, idle: Duration) -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .pool_idle_timeout(idle)
        .pool_max_idle_per_host(pool_size)
        .build(Connector { connect_timeout })
}

/// How many recent reads a connection remembers. A frame is handed on before the connection
/// reads again (hyper's body channel holds one), so the read behind any live frame is among
/// the last few; 32 leaves room for many frames cut from one read.
const KEEP: usize = 32;

/// When the bytes of a connection's recent reads landed, by the buffer addresses they
/// filled. Shared by the connection (which records) and its responses (which look up); found
/// in every response's extensions.
#[derive(Debug)]
pub struct Landings {
    reads: Mutex<VecDeque<Landing>>,
    /// The socket accepted `SO_TIMESTAMPNS` (else every time is the read's own).
    pub kernel: bool,
}

#[derive(Debug, Clone, Copy)]
struct Landing {
    start: usize,
    end: usize,
    at: Instant,
}

impl Landings {
    fn new(kernel: bool) -> Landings {
        Landings {
            reads: Mutex::new(VecDeque::with_capacity(KEEP)),
            kernel,
        }
    }

    fn record(&self, start: usize, len: usize, at: Instant) {
        let mut reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
        if reads.len() == KEEP {
            reads.pop_front();
        }
        reads.push_back(Landing {
            start,
            end: start + len,
            at,
        });
    }

    /// When `data` (a body frame, a slice of the connection's read buffer) reached this
    /// machine: the time of the newest read that wrote its first byte. The newest is the
    /// right one even when the buffer's memory is reused, since a later read over the same
    /// address would have overwritten the frame, which is alive here. `None` for an empty
    /// frame, or bytes that did not come straight from a remembered read.
    pub fn at(&self, data: &[u8]) -> Option<Instant> {
        let p = data.as_ptr() as usize;
        if data.is_empty() {
            return None;
        }
        let reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
        reads
            .iter()
            .rev()
            .find(|l| l.start <= p && p < l.end)
            .map(|l| l.at)
    }
}

/// Opens stamped TCP connections (with `TCP_NODELAY`) for the hyper client.
#[derive(Debug, Clone)]
pub struct Connector {
    connect_timeout: Duration,
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = StampedTcp;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<StampedTcp>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let timeout = self.connect_timeout;
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host in the URL"))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(80);
            let tcp = tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port)))
                .await
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("connecting to {host}:{port} took longer than {timeout:?}"),
                    )
                })??;
            tcp.set_nodelay(true)?;
            let kernel = ask_for_timestamps(tcp.as_raw_fd());
            Ok(StampedTcp {
                tcp,
                landings: Arc::new(Landings::new(kernel)),
            })
        })
    }
}

/// A TCP connection whose reads record when their bytes landed.
#[derive(Debug)]
pub struct StampedTcp {
    tcp: TcpStream,
    landings: Arc<Landings>,
}

impl Connection for StampedTcp {
    fn connected(&self) -> Connected {
        Connected::new().extra(self.landings.clone())
    }
}

impl Read for StampedTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let fd = this.tcp.as_raw_fd();
        loop {
            ready!(this.tcp.poll_read_ready(cx))?;
            // SAFETY: `recv_stamped` only writes into `dst`, and exactly `n` bytes of it are
            // declared filled below, after the kernel wrote them.
            let dst = unsafe { buf.as_mut() };
            let start = dst.as_ptr() as usize;
            match this
                .tcp
                .try_io(Interest::READABLE, || recv_stamped(fd, dst))
            {
                Ok((n, kernel_ns)) => {
                    if n > 0 {
                        this.landings.record(start, n, landed_at(kernel_ns));
                    }
                    // SAFETY: the kernel initialised the first `n` bytes.
                    unsafe { buf.advance(n) };
                    return Poll::Ready(Ok(()));
                }
                // Readiness was stale: `try_io` cleared it, wait again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl Write for StampedTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }
}

/// Asks the kernel to timestamp every packet this socket receives; false where it cannot.
#[cfg(target_os = "linux")]
fn ask_for_timestamps(fd: RawFd) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: `fd` is an open socket; the option value is a c_int of the given size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

#[cfg(not(target_os = "linux"))]
fn ask_for_timestamps(_fd: RawFd) -> bool {
    false
}

/// Reads into `dst` with `recvmsg`: the byte count, and the kernel's receive time of the
/// last packet read (CLOCK_REALTIME, ns) when it sent one.
#[cfg(target_os = "linux")]
fn recv_stamped(fd: RawFd, dst: &mut [MaybeUninit<u8>]) -> io::Result<(usize, Option<i128>)> {
    let mut iov = libc::iovec {
        iov_base: dst.as_mut_ptr().cast(),
        iov_len: dst.len(),
    };
    // Room for one control message holding a timespec, aligned as cmsghdr needs.
    let mut control = [0u64; 8];
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` describes `dst` and `control`, both valid for writes of their lengths.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: walking the control messages the kernel wrote into `control`, with the
    // kernel's own CMSG_* macros; the timestamp is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                stamp = Some(i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, stamp))
}

#[cfg(not(target_os = "linux"))]
fn recv_stamped(fd: RawFd, dst: &mut [MaybeUninit<u8>]) -> io::Result<(usize, Option<i128>)> {
    // SAFETY: `dst` is valid for writes of its length.
    let n = unsafe { libc::recv(fd, dst.as_mut_ptr().cast(), dst.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((n as usize, None))
}

/// The kernel's receive time as an `Instant`: now, less how long the bytes waited in the
/// socket (both clocks read together, so a step of the wall clock between packets does not
/// matter). A wait that is negative or over a minute is not believed: now stands in.
fn landed_at(kernel_ns: Option<i128>) -> Instant {
    let now = Instant::now();
    let Some(k) = kernel_ns else {
        return now;
    };
    let waited = realtime_ns() - k;
    if (0..60_000_000_000).contains(&waited) {
        now.checked_sub(Duration::from_nanos(waited as u64))
            .unwrap_or(now)
    } else {
        now
    }
}

fn realtime_ns() -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_timed_by_the_newest_read_that_wrote_its_address() {
        let l = Landings::new(true);
        let buf = [0u8; 64];
        let base = buf.as_ptr() as usize;
        let t0 = Instant::now();
        let (t1, t2) = (t0 + Duration::from_millis(1), t0 + Duration::from_millis(2));
        l.record(base, 32, t0);
        l.record(base + 32, 32, t1);
        assert_eq!(l.at(&buf[..8]), Some(t0));
        assert_eq!(l.at(&buf[40..48]), Some(t1));
        // The memory of the first read reused by a later one.
        l.record(base, 16, t2);
        assert_eq!(l.at(&buf[4..8]), Some(t2));
        assert_eq!(l.at(&buf[20..24]), Some(t0));
        assert_eq!(l.at(&buf[..0]), None);
        let other = [0u8; 4];
        assert_eq!(l.at(&other), None);
    }

    #[test]
    fn only_the_newest_reads_are_kept() {
        let l = Landings::new(true);
        let buf = [0u8; KEEP + 1];
        let base = buf.as_ptr() as usize;
        let t = Instant::now();
        for i in 0..=KEEP {
            l.record(base + i, 1, t + Duration::from_micros(i as u64));
        }
        assert_eq!(l.at(&buf[..1]), None, "the oldest read is forgotten");
        assert_eq!(l.at(&buf[1..2]), Some(t + Duration::from_micros(1)));
        assert_eq!(l.reads.lock().unwrap().len(), KEEP);
    }

    #[test]
    fn an_unbelievable_kernel_time_gives_the_read_time() {
        let before = Instant::now();
        assert!(landed_at(None) >= before);
        assert!(
            landed_at(Some(realtime_ns() + 5_000_000_000)) >= before,
            "from the future"
        );
        assert!(landed_at(Some(0)) >= before, "from 1970");
        let t = landed_at(Some(realtime_ns() - 2_000_000_000));
        let back = before.saturating_duration_since(t);
        assert!(
            back >= Duration::from_millis(1900) && back < Duration::from_secs(3),
            "two seconds in the socket: {back:?} before the call"
        );
    }
}

#[cfg(all(test, target_os = "linux"))]
mod kernel_tests {
    use std::io::{BufRead, BufReader, Read as _, Write as _};
    use std::sync::mpsc;

    use http_body_util::BodyExt;

    use super::*;

    /// A server on a thread that answers one request with a chunked body, writing each
    /// piece when told to and saying when it wrote it.
    fn chunked_server(pieces: usize) -> (u16, mpsc::Sender<()>, mpsc::Receiver<Instant>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (sent_tx, sent_rx) = mpsc::channel::<Instant>();
        std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            s.set_nodelay(true).unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            r.read_exact(&mut vec![0; length]).unwrap();
            let mut w = s;
            w.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                .unwrap();
            for i in 0..pieces {
                go_rx.recv().unwrap();
                let ev = format!("data: {i}\n\n");
                let chunk = format!("{:x}\r\n{ev}\r\n", ev.len());
                sent_tx.send(Instant::now()).unwrap();
                w.write_all(chunk.as_bytes()).unwrap();
            }
            w.write_all(b"0\r\n\r\n").unwrap();
        });
        (port, go_tx, sent_rx)
    }

    #[test]
    fn a_piece_is_timed_when_it_reached_the_machine_not_when_the_client_read_it() {
        let (port, go, sent) = chunked_server(3);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let c = client(Duration::from_secs(2), 1, Duration::from_secs(4));
        let uri: http::Uri = format!("http://127.0.0.1:{port}/v1/completions")
            .parse()
            .unwrap();
        let mut req = http::Request::new(http_body_util::Full::new(bytes::Bytes::from("{}")));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = uri;
        let resp = rt.block_on(c.request(req)).unwrap();
        let landings = resp.extensions().get::<Arc<Landings>>().cloned().unwrap();
        assert!(landings.kernel, "the socket took SO_TIMESTAMPNS");
        // The kernel turns receive timestamps on for the whole stack from a deferred work
        // item when the first socket asks; until it has run, packets land unstamped (and
        // are stamped when read). On a loaded machine that took longer than the first
        // piece: give it time, as any load run's warmup does.
        std::thread::sleep(Duration::from_millis(200));
        let mut body = resp.into_body();
        for i in 0..3 {
            go.send(()).unwrap();
            let sent = sent.recv().unwrap();
            // The client is busy elsewhere (its only thread blocked) while the piece lands.
            std::thread::sleep(Duration::from_millis(250));
            let frame = rt.block_on(body.frame()).unwrap().unwrap();
            let read = Instant::now();
            let data = frame.into_data().unwrap();
            assert_eq!(&data[..], format!("data: {i}\n\n").as_bytes());
            let at = landings
                .at(&data)
                .expect("the frame is a slice of a recorded read");
            assert!(read >= sent + Duration::from_millis(250));
            // Landed after it was sent (the 1 ms is the two clocks' conversion), and long
            // before the client read it.
            assert!(
                at + Duration::from_millis(1) >= sent,
                "piece {i}: timed {:?} before it was sent",
                sent - at
            );
            assert!(
                at < sent + Duration::from_millis(100),
                "piece {i}: timed {:?} after it was sent, read {:?} after",
                at - sent,
                read - sent
            );
        }
    }
}
