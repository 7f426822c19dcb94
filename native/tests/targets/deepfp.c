/*
 * deepfp — nofp.c built with frame pointers (the tests' default flags): `deepfp SECONDS deep` puts
 * 40 KiB of locals between main and the chain, a stack deeper than a short copy, for AUTO's walk
 * past the copy.
 */
#include "nofp.c"
