/* sysex/common/np_recording.c compiled into the CNetprov target as is: SwiftPM builds only sources inside
 * a target's folder, and this is the file the Linux tests exercise. */
#include "../../../common/np_recording.c"
