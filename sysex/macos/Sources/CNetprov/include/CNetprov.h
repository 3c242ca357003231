/* sysex/common's headers as one Clang module for Swift: the encoder, the stream, the shared table, the recordings. */
#include "../../../../common/np_session.h"
#include "../../../../common/np_stream.h"
#include "../../../../common/np_endpoint.h"
#include "../../../../common/np_recording.h"
