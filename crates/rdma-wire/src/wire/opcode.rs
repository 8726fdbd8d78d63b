//! The BTH opcode table: which extended headers follow, whether a payload may, and where in
//! a message the packet sits. Built at compile time for all 256 opcodes.

use super::{ExtHeaders, ExtKind};

/// Transport service (OpCode bits 7-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// Reliable connection (0x00).
    Rc,
    /// Unreliable connection (0x20).
    Uc,
    /// Reliable datagram (0x40).
    Rd,
    /// Unreliable datagram (0x60).
    Ud,
    /// Congestion notification (0x80; RoCE v2 uses 0x81).
    Cnp,
    /// Extended reliable connection (0xA0).
    Xrc,
}

impl Transport {
    /// The opcode prefix (bits 7-5).
    pub const fn prefix(self) -> u8 {
        match self {
            Transport::Rc => 0x00,
            Transport::Uc => 0x20,
            Transport::Rd => 0x40,
            Transport::Ud => 0x60,
            Transport::Cnp => 0x80,
            Transport::Xrc => 0xA0,
        }
    }

    /// `"RC"`, `"UC"`, `"RD"`, `"UD"`, `"CNP"`, `"XRC"`.
    pub const fn name(self) -> &'static str {
        match self {
            Transport::Rc => "RC",
            Transport::Uc => "UC",
            Transport::Rd => "RD",
            Transport::Ud => "UD",
            Transport::Cnp => "CNP",
            Transport::Xrc => "XRC",
        }
    }
}

/// Operation (OpCode bits 4-0), with the RoCE v2 CNP as its own operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[expect(missing_docs, reason = "the names are the IBA operation names")]
pub enum Operation {
    SendFirst,
    SendMiddle,
    SendLast,
    SendLastImm,
    SendOnly,
    SendOnlyImm,
    WriteFirst,
    WriteMiddle,
    WriteLast,
    WriteLastImm,
    WriteOnly,
    WriteOnlyImm,
    ReadRequest,
    ReadResponseFirst,
    ReadResponseMiddle,
    ReadResponseLast,
    ReadResponseOnly,
    Acknowledge,
    AtomicAcknowledge,
    CompareSwap,
    FetchAdd,
    Resync,
    SendLastInvalidate,
    SendOnlyInvalidate,
    /// RoCE v2 congestion notification packet (opcode 0x81).
    Cnp,
}

impl Operation {
    const LIST: [Operation; 24] = [
        Operation::SendFirst,
        Operation::SendMiddle,
        Operation::SendLast,
        Operation::SendLastImm,
        Operation::SendOnly,
        Operation::SendOnlyImm,
        Operation::WriteFirst,
        Operation::WriteMiddle,
        Operation::WriteLast,
        Operation::WriteLastImm,
        Operation::WriteOnly,
        Operation::WriteOnlyImm,
        Operation::ReadRequest,
        Operation::ReadResponseFirst,
        Operation::ReadResponseMiddle,
        Operation::ReadResponseLast,
        Operation::ReadResponseOnly,
        Operation::Acknowledge,
        Operation::AtomicAcknowledge,
        Operation::CompareSwap,
        Operation::FetchAdd,
        Operation::Resync,
        Operation::SendLastInvalidate,
        Operation::SendOnlyInvalidate,
    ];

    /// OpCode bits 4-0 (1 for the CNP).
    pub const fn code(self) -> u8 {
        match self {
            Operation::Cnp => 0x01,
            // Declaration order is the code order for the first 24 operations.
            other => other as u8,
        }
    }

    /// Name as in the IBA tables (`"SEND Only"`, `"RDMA WRITE First"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Operation::SendFirst => "SEND First",
            Operation::SendMiddle => "SEND Middle",
            Operation::SendLast => "SEND Last",
            Operation::SendLastImm => "SEND Last with Immediate",
            Operation::SendOnly => "SEND Only",
            Operation::SendOnlyImm => "SEND Only with Immediate",
            Operation::WriteFirst => "RDMA WRITE First",
            Operation::WriteMiddle => "RDMA WRITE Middle",
            Operation::WriteLast => "RDMA WRITE Last",
            Operation::WriteLastImm => "RDMA WRITE Last with Immediate",
            Operation::WriteOnly => "RDMA WRITE Only",
            Operation::WriteOnlyImm => "RDMA WRITE Only with Immediate",
            Operation::ReadRequest => "RDMA READ Request",
            Operation::ReadResponseFirst => "RDMA READ Response First",
            Operation::ReadResponseMiddle => "RDMA READ Response Middle",
            Operation::ReadResponseLast => "RDMA READ Response Last",
            Operation::ReadResponseOnly => "RDMA READ Response Only",
            Operation::Acknowledge => "Acknowledge",
            Operation::AtomicAcknowledge => "ATOMIC Acknowledge",
            Operation::CompareSwap => "CmpSwap",
            Operation::FetchAdd => "FetchAdd",
            Operation::Resync => "RESYNC",
            Operation::SendLastInvalidate => "SEND Last with Invalidate",
            Operation::SendOnlyInvalidate => "SEND Only with Invalidate",
            Operation::Cnp => "CNP",
        }
    }
}

/// Where a packet sits in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// First packet of a multi-packet message (payload is exactly one PMTU, pad 0).
    First,
    /// Middle packet (payload is exactly one PMTU, pad 0).
    Middle,
    /// Last packet.
    Last,
    /// The only packet: single-packet messages and every packet without payload (READ
    /// request, ACK, atomics, RESYNC, CNP).
    Only,
}

/// What an opcode means on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpcodeInfo {
    /// The opcode.
    pub opcode: Opcode,
    /// Its transport.
    pub transport: Transport,
    /// Its operation.
    pub operation: Operation,
    /// The extended headers after the BTH (iterate for the wire order).
    pub headers: ExtHeaders,
    /// Whether a payload may follow the headers.
    pub payload: bool,
    /// Where in a message the packet sits.
    pub position: Position,
}

/// A BTH OpCode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Opcode(pub u8);

impl Opcode {
    /// RoCE v2 CNP (0x81).
    pub const CNP: Opcode = Opcode(0x81);
    /// RC SEND Only (0x04).
    pub const RC_SEND_ONLY: Opcode = Opcode(0x04);
    /// RC RDMA WRITE Only (0x0A).
    pub const RC_WRITE_ONLY: Opcode = Opcode(0x0A);
    /// RC RDMA READ Request (0x0C).
    pub const RC_READ_REQUEST: Opcode = Opcode(0x0C);
    /// RC Acknowledge (0x11).
    pub const RC_ACK: Opcode = Opcode(0x11);
    /// UD SEND Only (0x64).
    pub const UD_SEND_ONLY: Opcode = Opcode(0x64);

    /// The opcode of `operation` on `transport`, if the IBA defines it.
    pub const fn of(transport: Transport, operation: Operation) -> Option<Opcode> {
        let op = Opcode(transport.prefix() | operation.code());
        match op.info() {
            Some(info) if info.operation as u8 == operation as u8 => Some(op),
            _ => None,
        }
    }

    /// The table entry, or `None` for reserved, vendor-specific or undefined opcodes.
    #[expect(clippy::indexing_slicing, reason = "a u8 index into a 256-entry table")]
    pub const fn info(self) -> Option<OpcodeInfo> {
        OPCODES[self.0 as usize]
    }
}

impl core::fmt::Display for Opcode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.info() {
            Some(i) => write!(f, "{} {}", i.transport.name(), i.operation.name()),
            None => write!(f, "opcode {:#04x}", self.0),
        }
    }
}

/// Every opcode's entry (`None` where undefined), indexed by the opcode byte.
pub const OPCODES: [Option<OpcodeInfo>; 256] = {
    let mut table = [None; 256];
    let mut i = 0u8;
    loop {
        #[expect(clippy::indexing_slicing, reason = "a u8 index into a 256-entry table")]
        {
            table[i as usize] = build(i);
        }
        if i == u8::MAX {
            break;
        }
        i = i.wrapping_add(1);
    }
    table
};

/// The RC headers, payload flag and position of operation code `op` (0x00..=0x17).
#[expect(
    clippy::indexing_slicing,
    reason = "op is checked against LIST.len() first"
)]
const fn base(op: u8) -> Option<(Operation, ExtHeaders, bool, Position)> {
    use ExtKind as K;
    use Operation as O;
    use Position as P;
    let none = ExtHeaders::NONE;
    let imm = none.with(K::ImmDt);
    let reth = none.with(K::Reth);
    let aeth = none.with(K::Aeth);
    let atomic = none.with(K::AtomicEth);
    let ieth = none.with(K::Ieth);
    if op as usize >= Operation::LIST.len() {
        return None;
    }
    let operation = Operation::LIST[op as usize];
    Some(match operation {
        O::SendFirst => (operation, none, true, P::First),
        O::SendMiddle | O::WriteMiddle => (operation, none, true, P::Middle),
        O::SendLast | O::WriteLast => (operation, none, true, P::Last),
        O::SendLastImm | O::WriteLastImm => (operation, imm, true, P::Last),
        O::SendOnly => (operation, none, true, P::Only),
        O::SendOnlyImm => (operation, imm, true, P::Only),
        O::WriteFirst => (operation, reth, true, P::First),
        O::WriteOnly => (operation, reth, true, P::Only),
        O::WriteOnlyImm => (operation, reth.with(K::ImmDt), true, P::Only),
        O::ReadRequest => (operation, reth, false, P::Only),
        O::ReadResponseFirst => (operation, aeth, true, P::First),
        O::ReadResponseMiddle => (operation, none, true, P::Middle),
        O::ReadResponseLast => (operation, aeth, true, P::Last),
        O::ReadResponseOnly => (operation, aeth, true, P::Only),
        O::Acknowledge => (operation, aeth, false, P::Only),
        O::AtomicAcknowledge => (operation, aeth.with(K::AtomicAckEth), false, P::Only),
        O::CompareSwap | O::FetchAdd => (operation, atomic, false, P::Only),
        O::Resync => (operation, none, false, P::Only),
        O::SendLastInvalidate => (operation, ieth, true, P::Last),
        O::SendOnlyInvalidate => (operation, ieth, true, P::Only),
        O::Cnp => return None,
    })
}

/// Whether operation `op` is sent by the responder (read responses and ACKs).
const fn is_response(op: u8) -> bool {
    matches!(op, 0x0D..=0x12)
}

const fn build(byte: u8) -> Option<OpcodeInfo> {
    let op = byte & 0x1F;
    let (transport, defined) = match byte >> 5 {
        0 => (Transport::Rc, op <= 0x14 || op == 0x16 || op == 0x17),
        1 => (Transport::Uc, op <= 0x0B),
        2 => (Transport::Rd, op <= 0x15),
        3 => (Transport::Ud, op == 0x04 || op == 0x05),
        4 => {
            if byte == Opcode::CNP.0 {
                return Some(OpcodeInfo {
                    opcode: Opcode::CNP,
                    transport: Transport::Cnp,
                    operation: Operation::Cnp,
                    headers: ExtHeaders::NONE.with(ExtKind::CnpPadding),
                    payload: false,
                    position: Position::Only,
                });
            }
            return None;
        }
        5 => (Transport::Xrc, op <= 0x14 || op == 0x16 || op == 0x17),
        _ => return None,
    };
    if !defined {
        return None;
    }
    let Some((operation, mut headers, payload, position)) = base(op) else {
        return None;
    };
    match transport {
        Transport::Rd if is_response(op) => headers = headers.with(ExtKind::RdEth),
        Transport::Rd => headers = headers.with(ExtKind::RdEth).with(ExtKind::Deth),
        Transport::Ud => headers = headers.with(ExtKind::Deth),
        Transport::Xrc if !is_response(op) => headers = headers.with(ExtKind::XrcEth),
        _ => {}
    }
    Some(OpcodeInfo {
        opcode: Opcode(byte),
        transport,
        operation,
        headers,
        payload,
        position,
    })
}
