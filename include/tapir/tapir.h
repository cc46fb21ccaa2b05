/*
 * tapir/tapir.h -- the one header a program includes.
 */
#ifndef TAPIR_TAPIR_H
#define TAPIR_TAPIR_H

#include "tapir/time.h"
#include "tapir/tcp.h"
#include "tapir/stack.h"

#define TAPIR_VERSION "0.1.0"

#endif
