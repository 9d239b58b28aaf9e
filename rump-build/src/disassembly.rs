//! Heuristic code scan: SSE/x87 use and red-zone accesses, by decoding `.text` with iced-x86;
//! on aarch64, FP/SIMD register use from the instruction encoding groups (no decoder needed:
//! the AArch64 encoding puts every FP/SIMD instruction in two groups told apart by a few bits,
//! Arm ARM C4.1), and no red zone (AAPCS64 has none).
//!
//! What it can see: instructions whose CPUID feature is x87, MMX, SSE or AVX, and memory
//! reads of memory below the stack pointer in straight-line code (`[rsp - n]`, or `[rbp - n]` below
//! everything a frame-pointer function ever allocated). It follows no branches, so it may miss
//! red-zone use; what it does report is certain. Without the `disassembly` feature both
//! findings are "unknown".

/// Findings of the code scan of one archive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeScan {
    /// Whether code was decoded at all (false without the `disassembly` feature).
    pub decoded: bool,
    /// Functions decoded.
    pub functions: usize,
    /// Instructions that use x87, MMX, SSE or AVX state.
    pub vector_instructions: usize,
    /// Up to three functions that use them.
    pub vector_functions: Vec<String>,
    /// Functions that access memory below the stack pointer (red zone).
    pub red_zone_functions: usize,
    /// Up to three of those function names.
    pub red_zone_samples: Vec<String>,
}

/// How many function names a finding keeps as examples.
#[cfg(feature = "disassembly")]
const SAMPLES: usize = 3;

/// Scans one executable section; `functions` are `(name, offset, size)` of its function
/// symbols. Without function symbols the whole section is scanned as one function.
#[cfg(feature = "disassembly")]
pub fn scan_section(code: &[u8], functions: &[(String, u64, u64)], scan: &mut CodeScan) {
    scan.decoded = true;
    let whole = [(String::from("(section)"), 0, code.len() as u64)];
    let functions = if functions.is_empty() {
        &whole[..]
    } else {
        functions
    };
    let mut seen = std::collections::BTreeSet::new();
    for (name, offset, size) in functions {
        // Aliases (several symbols for one body) are scanned once.
        if !seen.insert(*offset) {
            continue;
        }
        let Some(bytes) = usize::try_from(*offset)
            .ok()
            .zip(usize::try_from(*size).ok())
            .and_then(|(start, len)| code.get(start..start.checked_add(len)?))
        else {
            continue;
        };
        scan.functions += 1;
        let findings = scan_function(bytes);
        if findings.vector_instructions > 0 {
            scan.vector_instructions += findings.vector_instructions;
            if scan.vector_functions.len() < SAMPLES && !scan.vector_functions.contains(name) {
                scan.vector_functions.push(name.clone());
            }
        }
        if findings.red_zone {
            scan.red_zone_functions += 1;
            if scan.red_zone_samples.len() < SAMPLES {
                scan.red_zone_samples.push(name.clone());
            }
        }
    }
}

/// Without the decoder nothing is known about the code.
#[cfg(not(feature = "disassembly"))]
pub fn scan_section(_code: &[u8], _functions: &[(String, u64, u64)], _scan: &mut CodeScan) {}

#[cfg(feature = "disassembly")]
struct FunctionFindings {
    vector_instructions: usize,
    red_zone: bool,
}

#[cfg(feature = "disassembly")]
fn scan_function(bytes: &[u8]) -> FunctionFindings {
    use iced_x86::{
        Code, CpuidFeature, Decoder, DecoderOptions, InstructionInfoFactory, Mnemonic, OpAccess,
        OpKind, Register,
    };

    let mut info_factory = InstructionInfoFactory::new();

    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let mut vector_instructions = 0;
    let mut red_zone = false;
    // Bytes allocated below the entry stack pointer so far (pushes and `sub rsp, imm`).
    let mut allocated: i64 = 0;
    let mut peak_allocated: i64 = 0;
    // Allocation when `mov rbp, rsp` ran; None if the function has no frame pointer.
    let mut frame_at: Option<i64> = None;
    // Lowest displacement seen through rbp: judged at the end against the whole allocation.
    let mut lowest_rbp_access: i64 = 0;
    let mut stack_tracking = true;
    let mut calls = false;
    for instruction in &mut decoder {
        if instruction.is_invalid() {
            break;
        }
        let uses_vector_state = instruction.cpuid_features().iter().any(|feature| {
            matches!(
                feature,
                CpuidFeature::FPU
                    | CpuidFeature::FPU287
                    | CpuidFeature::FPU387
                    | CpuidFeature::MMX
                    | CpuidFeature::SSE
                    | CpuidFeature::SSE2
                    | CpuidFeature::SSE3
                    | CpuidFeature::SSSE3
                    | CpuidFeature::SSE4_1
                    | CpuidFeature::SSE4_2
                    | CpuidFeature::SSE4A
                    | CpuidFeature::AVX
                    | CpuidFeature::AVX2
                    | CpuidFeature::AVX512F
                    | CpuidFeature::FMA
            )
        }) || (0..instruction.op_count()).any(|i| {
            instruction.op_kind(i) == OpKind::Register && {
                let register = instruction.op_register(i);
                register.is_xmm() || register.is_ymm() || register.is_zmm() || register.is_mm()
            }
        });
        // Fences and prefetches are tagged SSE/SSE2 but touch no vector state.
        let harmless = matches!(
            instruction.mnemonic(),
            Mnemonic::Lfence
                | Mnemonic::Mfence
                | Mnemonic::Sfence
                | Mnemonic::Pause
                | Mnemonic::Prefetchnta
                | Mnemonic::Prefetcht0
                | Mnemonic::Prefetcht1
                | Mnemonic::Prefetcht2
                | Mnemonic::Clflush
                | Mnemonic::Movnti
        );
        if uses_vector_state && !harmless {
            vector_instructions += 1;
        }
        match instruction.mnemonic() {
            Mnemonic::Call => calls = true,
            Mnemonic::Push => allocated += 8,
            Mnemonic::Pop => allocated -= 8,
            _ => {}
        }
        peak_allocated = peak_allocated.max(allocated);
        let writes_rsp = instruction.op_count() > 0
            && instruction.op0_kind() == OpKind::Register
            && instruction.op0_register() == Register::RSP;
        if writes_rsp {
            match (instruction.code(), instruction.op1_kind()) {
                (Code::Sub_rm64_imm8 | Code::Sub_rm64_imm32, _) => {
                    allocated += instruction.immediate(1) as i64;
                }
                (Code::Add_rm64_imm8 | Code::Add_rm64_imm32, _) => {
                    allocated -= instruction.immediate(1) as i64;
                }
                // `mov rsp, rbp` / `leave`-like restores and `and rsp, -16` realignment.
                _ => stack_tracking = false,
            }
        }
        if instruction.mnemonic() == Mnemonic::Mov
            && instruction.op0_kind() == OpKind::Register
            && instruction.op0_register() == Register::RBP
            && instruction.op1_kind() == OpKind::Register
            && instruction.op1_register() == Register::RSP
        {
            frame_at = Some(allocated);
        }
        // Stores below rsp that are never read back are harmless; so is the `lock add $0`
        // fence idiom. Only reads of memory below the stack pointer count as red-zone use.
        let fence_idiom = instruction.has_lock_prefix()
            && instruction.op_count() == 2
            && matches!(
                instruction.op1_kind(),
                OpKind::Immediate8 | OpKind::Immediate8to64 | OpKind::Immediate32to64
            )
            && instruction.immediate(1) == 0;
        if !fence_idiom && !matches!(instruction.mnemonic(), Mnemonic::Lea | Mnemonic::Nop) {
            for memory in info_factory.info(&instruction).used_memory() {
                let reads = matches!(
                    memory.access(),
                    OpAccess::Read
                        | OpAccess::CondRead
                        | OpAccess::ReadWrite
                        | OpAccess::ReadCondWrite
                );
                if !reads || memory.index() != Register::None {
                    continue;
                }
                let displacement = memory.displacement() as i64;
                match memory.base() {
                    Register::RSP if displacement < 0 => red_zone = true,
                    Register::RBP if frame_at.is_some() => {
                        lowest_rbp_access = lowest_rbp_access.min(displacement);
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(frame) = frame_at {
        // In a function that never calls, anything rbp-relative below its total allocation
        // lives under rsp: the classic unoptimised leaf function that never moves rsp.
        let below_frame = -lowest_rbp_access > peak_allocated.max(frame) - frame;
        if stack_tracking && !calls && below_frame {
            red_zone = true;
        }
    }
    FunctionFindings {
        vector_instructions,
        red_zone,
    }
}

/// Whether one A64 instruction word uses the FP/SIMD registers: the "data processing - scalar
/// floating-point and Advanced SIMD" group (op0 = x111) and the loads and stores with the
/// V bit set (op0 = x1x0, bit 26), Arm ARM C4.1.
pub fn aarch64_uses_fp_simd(word: u32) -> bool {
    let op0 = (word >> 25) & 0xf;
    let data_processing = op0 & 0b0111 == 0b0111;
    let load_store_vector = op0 & 0b0101 == 0b0100 && word & (1 << 26) != 0;
    data_processing || load_store_vector
}

/// Scans one aarch64 executable section for FP/SIMD use; `functions` as in [`scan_section`].
/// Constant pools inside `.text` may read as instructions; compilers put them after the code
/// of a function, and a finding names the function so it can be checked.
pub fn scan_aarch64_section(code: &[u8], functions: &[(String, u64, u64)], scan: &mut CodeScan) {
    const AARCH64_SAMPLES: usize = 3;
    scan.decoded = true;
    let whole = [(String::from("(section)"), 0, code.len() as u64)];
    let functions = if functions.is_empty() {
        &whole[..]
    } else {
        functions
    };
    let mut seen = std::collections::BTreeSet::new();
    for (name, offset, size) in functions {
        if !seen.insert(*offset) {
            continue;
        }
        let Some(bytes) = usize::try_from(*offset)
            .ok()
            .zip(usize::try_from(*size).ok())
            .and_then(|(start, len)| code.get(start..start.checked_add(len)?))
        else {
            continue;
        };
        scan.functions += 1;
        let found = bytes
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .filter(|&w| aarch64_uses_fp_simd(w))
            .count();
        if found > 0 {
            scan.vector_instructions += found;
            if scan.vector_functions.len() < AARCH64_SAMPLES
                && !scan.vector_functions.contains(name)
            {
                scan.vector_functions.push(name.clone());
            }
        }
    }
}
