//! Exports for the rump PCI hypercalls (docs/contract.md §9). None of them upcalls or blocks long.

use core::ffi::{c_int, c_uint, c_ulong, c_void};
use core::ptr::{self, NonNull};

use crate::abi::{RumpcompPciDmaseg, RumpcompPciIntrFn};
use crate::errno::{c_return, c_status, Errno};
use crate::install::host;
use crate::memory::PAGE_SIZE;
use crate::pci;

/// `void *rumpcomp_pci_map(unsigned long addr, unsigned long len);` — NULL on failure.
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpcomp_pci_map(addr: c_ulong, len: c_ulong) -> *mut c_void {
    host()
        .pci_map_mmio(addr, len)
        .map_or(ptr::null_mut(), NonNull::as_ptr)
}

/// `int rumpcomp_pci_confread(unsigned int bus, unsigned int dev, unsigned int fun, int reg,
///  unsigned int *value);`
///
/// # Safety
/// `value` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpcomp_pci_confread(
    bus: c_uint,
    dev: c_uint,
    fun: c_uint,
    reg: c_int,
    value: *mut c_uint,
) -> c_int {
    let result = u32::try_from(reg)
        .map_err(|_| Errno::EINVAL)
        .and_then(|reg| host().pci_config_read(bus, dev, fun, reg));
    // SAFETY: `value` is writable per the caller's contract.
    c_return(result, |v| unsafe { value.write(v) })
}

/// `int rumpcomp_pci_confwrite(unsigned int bus, unsigned int dev, unsigned int fun, int reg,
///  unsigned int value);`
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpcomp_pci_confwrite(
    bus: c_uint,
    dev: c_uint,
    fun: c_uint,
    reg: c_int,
    value: c_uint,
) -> c_int {
    let result = u32::try_from(reg)
        .map_err(|_| Errno::EINVAL)
        .and_then(|reg| host().pci_config_write(bus, dev, fun, reg, value));
    c_status(result)
}

/// `int rumpcomp_pci_irq_map(unsigned int bus, unsigned int dev, unsigned int fun,
///  int intrline, unsigned int cookie);`
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpcomp_pci_irq_map(
    bus: c_uint,
    dev: c_uint,
    fun: c_uint,
    intrline: c_int,
    cookie: c_uint,
) -> c_int {
    c_status(host().pci_irq_map(bus, dev, fun, intrline, cookie))
}

/// `void *rumpcomp_pci_irq_establish(unsigned int cookie, rumpcomp_pci_intr_fn handler,
///  void *data);` — a non-NULL handle, or NULL on failure.
///
/// # Safety
/// `handler(data)` may be called from a host thread in state S for the rest of the program.
#[no_mangle]
pub unsafe extern "C" fn rumpcomp_pci_irq_establish(
    cookie: c_uint,
    handler: RumpcompPciIntrFn,
    data: *mut c_void,
) -> *mut c_void {
    pci::establish(cookie, handler, data).map_or(ptr::null_mut(), |line| {
        ptr::from_ref(line).cast_mut().cast()
    })
}

/// `int rumpcomp_pci_dmalloc(size_t size, size_t align, unsigned long *pap, unsigned long *vap);`
///
/// # Safety
/// `pap` and `vap` are writable.
#[no_mangle]
pub unsafe extern "C" fn rumpcomp_pci_dmalloc(
    size: usize,
    align: usize,
    pap: *mut c_ulong,
    vap: *mut c_ulong,
) -> c_int {
    let align = align.max(PAGE_SIZE);
    let result = if size == 0 || !align.is_power_of_two() {
        Err(Errno::EINVAL)
    } else {
        host().dma_alloc(size, align)
    };
    c_return(result, |(bus, virt)| {
        // SAFETY: both pointers are writable per the caller's contract.
        unsafe {
            pap.write(bus);
            vap.write(virt.as_ptr() as c_ulong);
        }
    })
}

/// `void rumpcomp_pci_dmafree(unsigned long vacookie, size_t size);`
///
/// # Safety
/// `vacookie`/`size` come from one `rumpcomp_pci_dmalloc` and the memory is not used after.
#[no_mangle]
pub unsafe extern "C" fn rumpcomp_pci_dmafree(vacookie: c_ulong, size: usize) {
    if let Some(virt) = NonNull::new(vacookie as *mut u8) {
        // SAFETY: forwarded caller contract.
        unsafe { host().dma_free(virt, size) };
    }
}

/// `int rumpcomp_pci_dmamem_map(struct rumpcomp_pci_dmaseg *dss, size_t nseg, size_t totlen,
///  void **vap);` — accepts segments that are contiguous in VA (contract §9.6).
///
/// # Safety
/// `dss` points to `nseg` segments; `vap` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpcomp_pci_dmamem_map(
    dss: *mut RumpcompPciDmaseg,
    nseg: usize,
    totlen: usize,
    vap: *mut *mut c_void,
) -> c_int {
    if dss.is_null() || nseg == 0 {
        return Errno::EINVAL.0;
    }
    // SAFETY: `dss` points to `nseg` segments per the caller's contract.
    let segments = unsafe { core::slice::from_raw_parts(dss, nseg) };
    let base = segments[0].ds_vacookie;
    let mut expected = base;
    for segment in segments {
        if segment.ds_vacookie != expected {
            return Errno::EINVAL.0;
        }
        expected += segment.ds_len;
    }
    if (expected - base) < totlen as c_ulong {
        return Errno::EINVAL.0;
    }
    // SAFETY: `vap` is writable per the caller's contract.
    unsafe { vap.write(base as *mut c_void) };
    0
}

/// `unsigned long rumpcomp_pci_virt_to_mach(void *virt);`
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpcomp_pci_virt_to_mach(virt: *mut c_void) -> c_ulong {
    host().virt_to_bus(virt)
}

/// `int rumpcomp_pci_iospace_init(void);`
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpcomp_pci_iospace_init() -> c_int {
    c_status(host().pci_iospace_init())
}
