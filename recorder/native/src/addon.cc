// netprov's sensor bridge: `new Sensor(options, listener)` starts the platform's sensor
// (backend.h) on a thread of its own and hands each piece of its session stream to `listener`
// on the JavaScript thread, through a thread-safe function, so the event loop never waits on
// the sensor. Memory stays bounded: the queue holds at most kQueuedPieces, and JavaScript can
// pause() the sensor thread while its reader is behind (the stream's highWaterMark) and
// resume() it; meanwhile the kernel's rings absorb (and, full, count as lost) what comes — the
// same backpressure a pipe would give.
//
//   listener('ready')            the sensor is recording (programs attached, rings open)
//   listener('data', Buffer)     the signature, then whole frames, in order
//   listener('end', null|string) finished (trailer written), or the one-line reason it could not run
#include <napi.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "backend.h"

namespace netprov {
namespace {

constexpr size_t kQueuedPieces = 64;  // at most 64 x 512 KiB chunks waiting for JavaScript

struct Message {
  enum Type { kReady, kData, kEnd } type;
  std::vector<uint8_t> bytes;  // kData
  std::string error;           // kEnd: empty when the sensor finished normally
};

class Sensor;
void deliverToJs(Napi::Env env, Napi::Function listener, Sensor* sensor, Message* message);
using Listener = Napi::TypedThreadSafeFunction<Sensor, Message, deliverToJs>;

class Sensor : public Napi::ObjectWrap<Sensor> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Sensor", {InstanceMethod("stop", &Sensor::stop), InstanceMethod("counts", &Sensor::counts),
                                       InstanceMethod("pause", &Sensor::pause), InstanceMethod("resume", &Sensor::resume)});
  }

  explicit Sensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sensor>(info), backend_(makeBackend()) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "Sensor(options, listener)").ThrowAsJavaScriptException();
      return;
    }
    SensorOptions options = readOptions(info[0].As<Napi::Object>());
    // Kept alive while its thread runs, even if JavaScript drops it; released in finished().
    Ref();
    listener_ = Listener::New(env, info[1].As<Napi::Function>(), "netprov sensor", kQueuedPieces, 1, this,
                              [](Napi::Env, void*, Sensor* sensor) { sensor->finished(); });
    thread_ = std::thread([this, options] { record(options); });
  }

 private:
  static SensorOptions readOptions(const Napi::Object& raw) {
    SensorOptions options;
    if (raw.Get("interfaces").IsArray()) {
      Napi::Array names = raw.Get("interfaces").As<Napi::Array>();
      for (uint32_t i = 0; i < names.Length(); i++) options.interfaces.push_back(names.Get(i).ToString().Utf8Value());
    }
    if (raw.Get("snaplen").IsNumber()) options.snaplen = raw.Get("snaplen").As<Napi::Number>().Int32Value();
    if (raw.Get("durationSeconds").IsNumber()) options.durationSeconds = raw.Get("durationSeconds").As<Napi::Number>().DoubleValue();
    return options;
  }

  // The sensor thread.
  void record(const SensorOptions& options) {
    std::string error = backend_->open(options);
    if (error.empty()) {
      send(new Message{Message::kReady, {}, {}});
      error = backend_->run([this](std::vector<uint8_t>&& piece) { return send(new Message{Message::kData, std::move(piece), {}}); }, &stop_);
    }
    send(new Message{Message::kEnd, {}, error});
    listener_.Release();
  }

  bool send(Message* message) {
    {
      std::unique_lock<std::mutex> lock(pauseMutex_);
      unpaused_.wait(lock, [this] { return !paused_ || stop_; });
    }
    if (listener_.BlockingCall(message) == napi_ok) return true;
    delete message;  // JavaScript is shutting down
    return false;
  }

  // On the JavaScript thread, once the sensor thread has released the listener.
  void finished() {
    thread_.join();
    Unref();
  }

  Napi::Value stop(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(pauseMutex_);
    stop_ = 1;
    unpaused_.notify_all();
    return info.Env().Undefined();
  }

  Napi::Value pause(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(pauseMutex_);
    paused_ = true;
    return info.Env().Undefined();
  }

  Napi::Value resume(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(pauseMutex_);
    paused_ = false;
    unpaused_.notify_all();
    return info.Env().Undefined();
  }

  Napi::Value counts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    SensorCounts counts = backend_->counts();
    Napi::Array byKind = Napi::Array::New(env, 16);
    for (uint32_t kind = 0; kind < 16; kind++) byKind.Set(kind, Napi::Number::New(env, static_cast<double>(counts.eventsByKind[kind])));
    Napi::Object out = Napi::Object::New(env);
    out.Set("eventsByKind", byKind);
    out.Set("lost", Napi::Number::New(env, static_cast<double>(counts.lost)));
    out.Set("bytes", Napi::Number::New(env, static_cast<double>(counts.bytes)));
    return out;
  }

  std::unique_ptr<Backend> backend_;
  Listener listener_;
  std::thread thread_;
  volatile int stop_ = 0;
  std::mutex pauseMutex_;
  std::condition_variable unpaused_;
  bool paused_ = false;
};

void deliverToJs(Napi::Env env, Napi::Function listener, Sensor*, Message* message) {
  std::unique_ptr<Message> owned(message);
  if (env == nullptr) return;  // JavaScript is shutting down
  switch (owned->type) {
    case Message::kReady:
      listener.Call({Napi::String::New(env, "ready")});
      break;
    case Message::kData:
      listener.Call({Napi::String::New(env, "data"), Napi::Buffer<uint8_t>::Copy(env, owned->bytes.data(), owned->bytes.size())});
      break;
    case Message::kEnd:
      listener.Call({Napi::String::New(env, "end"), owned->error.empty() ? env.Null() : Napi::String::New(env, owned->error)});
      break;
  }
}

}  // namespace
}  // namespace netprov

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Sensor", netprov::Sensor::define(env));
  return exports;
}

NODE_API_MODULE(netprov_sensor, Init)
