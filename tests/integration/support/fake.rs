//! A small hand-written HTTP server on 127.0.0.1:0 for hostile behaviour the simulator does not play:
//! redirects, endless bodies, echoed secrets. Each connection is answered once and closed. Requests are
//! recorded, so a test can show that nothing reached it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// How to answer.
pub enum Reply {
    /// Status, extra headers and a JSON body.
    Json(u16, Vec<(String, String)>, String),
    /// A 200 whose body never ends: `total` bytes of JSON-looking filler (or until the client hangs up).
    Endless { total: usize },
}

type Handler = dyn Fn(&Req) -> Reply + Send + Sync;

/// A running fake server.
pub struct Fake {
    pub url: String,
    requests: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl Fake {
    pub fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let requests = requests.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let requests = requests.clone();
                    let handler = handler.clone();
                    std::thread::spawn(move || serve(conn, &requests, &*handler));
                }
            });
        }
        Fake {
            url: format!("http://{addr}"),
            requests,
            stop,
            addr,
        }
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(conn: TcpStream, requests: &Mutex<Vec<Req>>, handler: &Handler) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let req = Req {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    requests.lock().unwrap().push(req.clone());
    let mut conn = conn;
    match handler(&req) {
        Reply::Json(status, extra, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(body.as_bytes());
        }
        Reply::Endless { total } => {
            // No Content-Length: the body ends when the connection closes, which it does not soon.
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
            if conn.write_all(head.as_bytes()).is_err() {
                return;
            }
            let _ = conn.write_all(b"{\"code\":0,\"data\":{\"items\":[\"");
            let chunk = vec![b'x'; 1 << 20];
            let mut sent = 0;
            while sent < total {
                if conn.write_all(&chunk).is_err() {
                    return;
                }
                sent += chunk.len();
            }
        }
    }
    let _ = conn.flush();
}
