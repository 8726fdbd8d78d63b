//! A two-level aggregation tree over real UDP sockets on loopback: four worker threads, two
//! leaf aggregator threads (two workers each) and a root aggregator thread, every socket on
//! 127.0.0.1 with an ephemeral port. Each sender drops 5 % of its packets on purpose, so
//! the workers' retransmissions, the nodes' duplicate handling and the shadow copies all
//! run. The job is an f32 SUM in reproducible mode; every worker's result is checked bit
//! for bit against the tree-ordered reduction computed locally,
//! `reduce(reduce(w0, w1), reduce(w2, w3))`.
//!
//! ```text
//! cargo run -p offload-sharp-reduce --example udp_tree --features std
//! ```
//!
//! `cargo test` runs it too (the example is a test target).

#![allow(
    clippy::std_instead_of_core,
    clippy::cast_possible_truncation,
    reason = "a std program; the clock is microseconds since start, far below u64::MAX"
)]

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use offload_sharp_reduce::{
    Action, Auto, DType, Job, Node, NodeConfig, NodeStats, Op, Pending, Reducer, Slot, Worker,
    WorkerConfig, WorkerStats,
};
use offload_testkit::Rng;

type BoxError = Box<dyn core::error::Error + Send + Sync>;

const WORKERS: usize = 4;
const ELEMENTS: usize = 20_000;
const DROP_PER_MILLE: usize = 50;
/// Retransmission timeout, in microseconds (the workers' clock).
const TIMEOUT_US: u64 = 20_000;

/// A sender that drops a fraction of what it is asked to send.
struct Lossy {
    rng: Rng,
    sent: u64,
    dropped: u64,
}

impl Lossy {
    fn new(seed: u64) -> Self {
        Lossy {
            rng: Rng::new(seed),
            sent: 0,
            dropped: 0,
        }
    }

    fn send(&mut self, sock: &UdpSocket, bytes: &[u8], to: SocketAddr) -> std::io::Result<()> {
        if self.rng.below(1000) < DROP_PER_MILLE {
            self.dropped += 1;
            return Ok(());
        }
        self.sent += 1;
        sock.send_to(bytes, to)?;
        Ok(())
    }
}

/// Whether a receive error only means "nothing arrived" (or an ICMP echo of a peer that
/// has already finished).
fn benign(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock
            | ErrorKind::TimedOut
            | ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
    )
}

struct NodeReport {
    stats: NodeStats,
    sent: u64,
    dropped: u64,
}

/// An aggregator: receive, `handle`, send what the action says, until told to stop.
fn run_node(
    sock: UdpSocket,
    cfg: NodeConfig,
    parent: Option<SocketAddr>,
    children: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    seed: u64,
) -> Result<NodeReport, BoxError> {
    let mut slots = vec![Slot::EMPTY; cfg.job.pool];
    let mut storage = vec![0u8; cfg.storage_len(cfg.job.pool)];
    let mut node = Node::new(cfg, Auto::detect(), &mut slots, &mut storage)?;
    sock.set_read_timeout(Some(Duration::from_millis(5)))?;
    let mut buf = vec![0u8; 65_536];
    let mut out = vec![0u8; cfg.max_packet_len()];
    let mut net = Lossy::new(seed);
    while !stop.load(Ordering::Relaxed) {
        let n = match sock.recv_from(&mut buf) {
            Ok((n, _)) => n,
            Err(e) if benign(&e) => continue,
            Err(e) => return Err(e.into()),
        };
        let Some(packet) = buf.get(..n) else { continue };
        let action = match node.handle(packet, &mut out) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("node: dropped a bad packet: {e}");
                continue;
            }
        };
        match action {
            Action::Nothing => {}
            Action::SendUp(len) => {
                let to = parent.ok_or("the root sent up")?;
                net.send(&sock, out.get(..len).ok_or("len")?, to)?;
            }
            Action::Multicast(len) => {
                for &c in &children {
                    net.send(&sock, out.get(..len).ok_or("len")?, c)?;
                }
            }
            Action::Unicast { rank, len } => {
                let to = *children.get(usize::from(rank)).ok_or("rank")?;
                net.send(&sock, out.get(..len).ok_or("len")?, to)?;
            }
        }
    }
    Ok(NodeReport {
        stats: node.stats(),
        sent: net.sent,
        dropped: net.dropped,
    })
}

struct WorkerReport {
    output: Vec<u8>,
    stats: WorkerStats,
    sent: u64,
    dropped: u64,
}

/// A worker: send what `poll` yields, wait for results until the next deadline.
fn run_worker(
    sock: UdpSocket,
    cfg: WorkerConfig,
    input: &[u8],
    parent: SocketAddr,
    seed: u64,
) -> Result<WorkerReport, BoxError> {
    let mut output = vec![0u8; input.len()];
    let mut window = vec![Pending::EMPTY; cfg.job.pool];
    let mut worker = Worker::new(cfg, input, &mut output, &mut window)?;
    let start = Instant::now();
    let now = || start.elapsed().as_micros() as u64;
    let mut buf = vec![0u8; 65_536];
    let mut packet = vec![0u8; worker.max_packet_len()];
    let mut net = Lossy::new(seed);
    while !worker.is_done() {
        while let Some(len) = worker.poll(now(), &mut packet)? {
            net.send(&sock, packet.get(..len).ok_or("len")?, parent)?;
        }
        let wait = worker
            .next_deadline()
            .map_or(1_000, |d| d.saturating_sub(now()))
            .clamp(100, 5_000);
        sock.set_read_timeout(Some(Duration::from_micros(wait)))?;
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                if let Err(e) = worker.handle(buf.get(..n).ok_or("len")?) {
                    eprintln!("worker: dropped a bad packet: {e}");
                }
            }
            Err(e) if benign(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let stats = worker.stats();
    Ok(WorkerReport {
        output,
        stats,
        sent: net.sent,
        dropped: net.dropped,
    })
}

/// Builds the tree, runs it, checks the results; returns the line to print.
fn run() -> Result<String, BoxError> {
    let job = Job::new(0x5EED, Op::Sum.into(), DType::F32, 256, 16).reproducible();
    let bind = || UdpSocket::bind("127.0.0.1:0");
    let (root, leaves) = (bind()?, [bind()?, bind()?]);
    let workers: Vec<UdpSocket> = (0..WORKERS).map(|_| bind()).collect::<Result<_, _>>()?;
    let root_addr = root.local_addr()?;
    let leaf_addrs = [leaves[0].local_addr()?, leaves[1].local_addr()?];
    let worker_addrs: Vec<SocketAddr> = workers
        .iter()
        .map(UdpSocket::local_addr)
        .collect::<Result<_, _>>()?;

    // Inputs: random f32 over a wide range of magnitudes, so the order of the sum shows.
    let mut rng = Rng::new(2026);
    let inputs: Vec<Vec<u8>> = (0..WORKERS)
        .map(|_| {
            (0..ELEMENTS)
                .flat_map(|_| {
                    let m = rng.below(1 << 24) as f32 / (1 << 24) as f32 - 0.5;
                    let e = rng.below(24) as i32 - 12;
                    (m * 2f32.powi(e)).to_le_bytes()
                })
                .collect()
        })
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let mut node_threads = Vec::new();
    let root_cfg = NodeConfig {
        job,
        fan_in: 2,
        parent_rank: None,
    };
    let stop_root = Arc::clone(&stop);
    let children = leaf_addrs.to_vec();
    node_threads.push(thread::spawn(move || {
        run_node(root, root_cfg, None, children, stop_root, 1)
    }));
    for (i, leaf) in leaves.into_iter().enumerate() {
        let cfg = NodeConfig {
            job,
            fan_in: 2,
            parent_rank: Some(i as u8),
        };
        let children = worker_addrs[2 * i..2 * i + 2].to_vec();
        let stop_leaf = Arc::clone(&stop);
        node_threads.push(thread::spawn(move || {
            run_node(
                leaf,
                cfg,
                Some(root_addr),
                children,
                stop_leaf,
                10 + i as u64,
            )
        }));
    }

    let started = Instant::now();
    let reports: Vec<Result<WorkerReport, BoxError>> = thread::scope(|s| {
        let handles: Vec<_> = workers
            .into_iter()
            .enumerate()
            .map(|(i, sock)| {
                let cfg = WorkerConfig {
                    job,
                    rank: (i % 2) as u8,
                    timeout: TIMEOUT_US,
                };
                let input = &inputs[i];
                let parent = leaf_addrs[i / 2];
                s.spawn(move || run_worker(sock, cfg, input, parent, 100 + i as u64))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("worker thread panicked".into()))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut node_reports = Vec::new();
    for h in node_threads {
        node_reports.push(h.join().map_err(|_| "node thread panicked")??);
    }
    let reports: Vec<WorkerReport> = reports.into_iter().collect::<Result<_, _>>()?;

    // The tree-ordered reference: each node sums its children in rank order.
    let r = Auto::detect();
    let mut left = vec![0u8; ELEMENTS * 4];
    let mut right = vec![0u8; ELEMENTS * 4];
    let mut want = vec![0u8; ELEMENTS * 4];
    r.reduce_bytes(Op::Sum, DType::F32, &[&inputs[0], &inputs[1]], &mut left)?;
    r.reduce_bytes(Op::Sum, DType::F32, &[&inputs[2], &inputs[3]], &mut right)?;
    r.reduce_bytes(Op::Sum, DType::F32, &[&left, &right], &mut want)?;
    for (i, rep) in reports.iter().enumerate() {
        if rep.output != want {
            return Err(format!("worker {i}: result differs from the tree-ordered sum").into());
        }
    }

    let sent: u64 = reports.iter().map(|r| r.sent).sum::<u64>()
        + node_reports.iter().map(|r| r.sent).sum::<u64>();
    let dropped: u64 = reports.iter().map(|r| r.dropped).sum::<u64>()
        + node_reports.iter().map(|r| r.dropped).sum::<u64>();
    let retransmitted: u64 = reports.iter().map(|r| r.stats.retransmitted).sum();
    let answered: u64 = node_reports.iter().map(|r| r.stats.answered).sum();
    let shadow: u64 = node_reports.iter().map(|r| r.stats.answered_shadow).sum();
    let resent: u64 = node_reports.iter().map(|r| r.stats.resent_up).sum();
    Ok(format!(
        "udp_tree: {WORKERS} workers -> 2 leaf aggregators -> root on 127.0.0.1, {ELEMENTS} f32 \
         in {} chunks of {} (pool {}), {:.0} ms; {dropped} of {} packets dropped, \
         {retransmitted} retransmissions, {answered} answered from a slot ({shadow} from a \
         shadow copy), {resent} partials re-sent up; every worker holds the tree-ordered sum \
         bit for bit",
        job.chunks(ELEMENTS as u64),
        job.chunk,
        job.pool,
        elapsed.as_secs_f64() * 1e3,
        sent + dropped,
    ))
}

fn main() -> Result<(), BoxError> {
    println!("{}", run()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg_attr(miri, ignore = "Miri has no sockets")]
    fn udp_tree_matches_the_tree_ordered_sum() {
        let line = super::run().unwrap();
        assert!(line.contains("bit for bit"));
    }
}
