/*
 * The lock the shared tables and streams take: os_unfair_lock on macOS (Apple's lock for short
 * critical sections, as the system extension's packet, flow and ES handlers need), a pthread
 * mutex elsewhere. Critical sections here are a few copies; nothing blocks while holding it.
 */
#ifndef NP_LOCK_H
#define NP_LOCK_H

#if defined(__APPLE__)
#include <os/lock.h>
typedef os_unfair_lock np_lock;
static inline void np_lock_init(np_lock *l) { *l = OS_UNFAIR_LOCK_INIT; }
static inline void np_lock_destroy(np_lock *l) { (void)l; }
static inline void np_lock_acquire(np_lock *l) { os_unfair_lock_lock(l); }
static inline void np_lock_release(np_lock *l) { os_unfair_lock_unlock(l); }
#else
#include <pthread.h>
typedef pthread_mutex_t np_lock;
static inline void np_lock_init(np_lock *l) { pthread_mutex_init(l, NULL); }
static inline void np_lock_destroy(np_lock *l) { pthread_mutex_destroy(l); }
static inline void np_lock_acquire(np_lock *l) { pthread_mutex_lock(l); }
static inline void np_lock_release(np_lock *l) { pthread_mutex_unlock(l); }
#endif

#endif
