#ifndef RP_CORE_VERSION_H
#define RP_CORE_VERSION_H

#define RP_VERSION "0.1.0"

#endif
