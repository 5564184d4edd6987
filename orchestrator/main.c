/* main.c - kept tiny so the tests link everything else as a library. */
#include "cli.h"

int main(int argc, char **argv)
{
	return fp_main(argc, argv);
}
