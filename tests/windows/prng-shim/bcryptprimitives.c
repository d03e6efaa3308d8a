/*
 * Test-only stand-in for bcryptprimitives.dll, for running Windows builds
 * under Wine 8, which lacks that DLL.
 *
 * Rust's standard library on Windows takes its random numbers from
 * ProcessPrng in bcryptprimitives.dll. This file exports ProcessPrng and
 * fills the buffer from RtlGenRandom (exported by advapi32 as
 * SystemFunction036), which Wine has.
 *
 * scripts/test-windows builds it with MinGW-w64 and copies it beside a
 * staged copy of tgw-vip.exe. It is never part of a release artefact.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;

        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
