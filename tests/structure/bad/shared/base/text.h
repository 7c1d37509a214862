#ifndef TEXT_H
#define TEXT_H
#include "base/clock.h"
#endif
