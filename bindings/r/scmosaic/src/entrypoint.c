// Routine registration is forwarded from C to Rust (as in the rextendr
// template), so that the linker keeps the static library.
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

void R_init_scmosaic_extendr(void *dll);
void register_extendr_panic_hook(void);

static void check_interrupt(void *unused) {
  (void) unused;
  R_CheckUserInterrupt();
}

// Called from Rust, on R's main thread, between training epochs. A pending
// interrupt makes R_CheckUserInterrupt jump to the top-level context that
// R_ToplevelExec sets up, which then returns FALSE: the interrupt is consumed
// here and never unwinds through Rust frames. Training then stops cleanly.
int scmosaic_r_interrupt_pending(void) {
  return R_ToplevelExec(check_interrupt, NULL) == FALSE;
}

void scmosaic_r_flush_console(void) {
  R_FlushConsole();
}

void R_init_scmosaic(DllInfo *dll) {
  // Panics become R errors (the extendr wrappers catch them); the hook keeps
  // Rust from also printing them to stderr (set EXTENDR_BACKTRACE=1 to see).
  register_extendr_panic_hook();
  R_init_scmosaic_extendr(dll);
}
