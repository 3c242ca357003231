// The macOS backend: the netprov system extension (sysex/macos) over XPC. It connects to the
// extension's Mach service, asks it to start a session, and receives the session stream piece by
// piece; a piece is acknowledged only once handed to JavaScript, so a slow recorder slows the
// extension's sending, and the extension then counts what it skips as losses (Outbox.swift)
// rather than blocking its filters. Compiled only on macOS (binding.gyp); never compiled on the
// Linux machines this project is built on — see sysex/macos/README.md.
#import <Foundation/Foundation.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "backend.h"

// The XPC contract: the selectors of sysex/macos/Sources/NetprovSysex/XPCProtocols.swift.
@protocol NetprovSensorService
- (void)startRecordingWithSnaplen:(NSInteger)snaplen reply:(void (^)(NSString *_Nullable error))reply;
- (void)stopRecording;
@end

@protocol NetprovRecorderClient
- (void)receivePiece:(NSData *)piece eventsByKind:(NSArray<NSNumber *> *)eventsByKind lost:(uint64_t)lost done:(void (^)(void))done;
- (void)finishedWithError:(nullable NSString *)error;
@end

namespace netprov {
namespace {

// What the extension sent, waiting for the sensor thread to hand it to JavaScript.
struct Inbox {
  struct Piece {
    std::vector<uint8_t> bytes;
    void (^done)(void);
  };
  std::mutex mutex;
  std::condition_variable arrived;
  std::deque<Piece> pieces;
  bool finished = false;
  std::string error;
  SensorCounts counts;
};

}  // namespace
}  // namespace netprov

@interface NetprovRecorderClientImpl : NSObject <NetprovRecorderClient>
@property(nonatomic) netprov::Inbox *inbox;
@end

@implementation NetprovRecorderClientImpl
- (void)receivePiece:(NSData *)piece eventsByKind:(NSArray<NSNumber *> *)eventsByKind lost:(uint64_t)lost done:(void (^)(void))done {
  std::lock_guard<std::mutex> lock(self.inbox->mutex);
  const uint8_t *bytes = static_cast<const uint8_t *>(piece.bytes);
  self.inbox->pieces.push_back({std::vector<uint8_t>(bytes, bytes + piece.length), [done copy]});
  for (NSUInteger kind = 0; kind < eventsByKind.count && kind < 16; kind++) self.inbox->counts.eventsByKind[kind] = eventsByKind[kind].unsignedLongLongValue;
  self.inbox->counts.lost = lost;
  self.inbox->counts.bytes += piece.length;
  self.inbox->arrived.notify_one();
}

- (void)finishedWithError:(NSString *)error {
  std::lock_guard<std::mutex> lock(self.inbox->mutex);
  self.inbox->finished = true;
  if (error) self.inbox->error = error.UTF8String;
  self.inbox->arrived.notify_one();
}
@end

namespace netprov {
namespace {

// The extension's Mach service: the app group prefix is the signing team's, so it is configured.
NSString *serviceName() {
  const char *configured = getenv("NETPROV_SYSEX_SERVICE");
  return configured ? @(configured) : @"com.netprov.sysex.xpc";
}

class DarwinBackend final : public Backend {
 public:
  ~DarwinBackend() override {
    connection_.invalidationHandler = nil;  // it refers to this backend
    [connection_ invalidate];
  }

  std::string open(const SensorOptions &options) override {
    if (!options.interfaces.empty()) return "the macOS packet filter sees every interface: -i is not supported here";
    duration_ = options.durationSeconds;
    client_ = [NetprovRecorderClientImpl new];
    client_.inbox = &inbox_;
    connection_ = [[NSXPCConnection alloc] initWithMachServiceName:serviceName() options:NSXPCConnectionPrivileged];
    connection_.remoteObjectInterface = [NSXPCInterface interfaceWithProtocol:@protocol(NetprovSensorService)];
    connection_.exportedInterface = [NSXPCInterface interfaceWithProtocol:@protocol(NetprovRecorderClient)];
    connection_.exportedObject = client_;
    connection_.invalidationHandler = ^{
      std::lock_guard<std::mutex> lock(inbox_.mutex);
      if (!inbox_.finished) inbox_.error = "the connection to the system extension ended";
      inbox_.finished = true;
      inbox_.arrived.notify_one();
    };
    [connection_ resume];
    __block std::string error;
    id<NetprovSensorService> service = [connection_ synchronousRemoteObjectProxyWithErrorHandler:^(NSError *failure) {
      error = std::string("cannot reach the netprov system extension (") + serviceName().UTF8String + "): " + failure.localizedDescription.UTF8String +
              "; is it activated and is this run as root? (sysex/macos/README.md)";
    }];
    [service startRecordingWithSnaplen:options.snaplen reply:^(NSString *refused) {
      if (refused) error = std::string("the system extension refused: ") + refused.UTF8String;
    }];
    return error;
  }

  std::string run(const Deliver &deliver, const volatile int *stop) override {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(duration_ > 0 ? duration_ : 1e9);
    bool stopRequested = false;
    for (;;) {
      if (!stopRequested && (*stop || std::chrono::steady_clock::now() >= deadline)) {
        stopRequested = true;
        [[connection_ remoteObjectProxy] stopRecording];
      }
      Inbox::Piece piece;
      {
        std::unique_lock<std::mutex> lock(inbox_.mutex);
        inbox_.arrived.wait_for(lock, std::chrono::milliseconds(50), [&] { return !inbox_.pieces.empty() || inbox_.finished; });
        if (inbox_.pieces.empty()) {
          if (inbox_.finished) return inbox_.error;
          continue;
        }
        piece = std::move(inbox_.pieces.front());
        inbox_.pieces.pop_front();
      }
      bool delivered = deliver(std::move(piece.bytes));
      piece.done();
      if (!delivered) return "the recorder stopped reading";
    }
  }

  SensorCounts counts() const override {
    std::lock_guard<std::mutex> lock(inbox_.mutex);
    return inbox_.counts;
  }

 private:
  mutable Inbox inbox_;
  NSXPCConnection *connection_ = nil;
  NetprovRecorderClientImpl *client_ = nil;
  double duration_ = 0;
};

}  // namespace

std::unique_ptr<Backend> makeBackend() { return std::make_unique<DarwinBackend>(); }

}  // namespace netprov
