// build: nofp debugframe
/*
 * nofp_df — nofp (see nofp.c) built so that its unwind tables are in .debug_frame, not .eh_frame
 * (-fno-asynchronous-unwind-tables -g: what some C projects and older toolchains ship); only crt's
 * own FDEs are in .eh_frame. Same arguments and output, "nofp pid=<pid>".
 */
#include "nofp.c"
