#ifndef CLOCK_H
#define CLOCK_H
#include "base/text.h"
#endif
