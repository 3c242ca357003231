// netprov-activate: the containing app's one job. Asks the system to activate the netprov system
// extension (OSSystemExtensionRequest; the user approves it once in System Settings), then
// configures and enables the content filter with both packet and socket filtering
// (NEFilterManager, NEFilterProviderConfiguration.filterPackets / filterSockets). Run it from
// the app bundle in /Applications: the system activates extensions only from there.
//
//   netprov-activate            activate and enable
//   netprov-activate --disable  disable the filter (the extension stays installed)
import Foundation
import NetworkExtension
import SystemExtensions

let extensionIdentifier = "com.netprov.sysex"

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("netprov-activate: \(message)\n".utf8))
    exit(EXIT_FAILURE)
}

func configureFilter(enabled: Bool) {
    let manager = NEFilterManager.shared()
    manager.loadFromPreferences { error in
        if let error { fail("cannot load the filter configuration (\(error.localizedDescription))") }
        let configuration = NEFilterProviderConfiguration()
        configuration.filterPackets = true
        configuration.filterSockets = true
        configuration.filterPacketProviderBundleIdentifier = extensionIdentifier
        configuration.filterDataProviderBundleIdentifier = extensionIdentifier
        manager.providerConfiguration = configuration
        manager.localizedDescription = "netprov"
        manager.isEnabled = enabled
        manager.saveToPreferences { error in
            if let error { fail("cannot save the filter configuration (\(error.localizedDescription))") }
            print(enabled ? "netprov: system extension active, packet and content filters enabled" : "netprov: filters disabled")
            exit(EXIT_SUCCESS)
        }
    }
}

final class Activation: NSObject, OSSystemExtensionRequestDelegate {
    func request(_ request: OSSystemExtensionRequest, actionForReplacingExtension existing: OSSystemExtensionProperties,
                 withExtension ext: OSSystemExtensionProperties) -> OSSystemExtensionRequest.ReplacementAction { .replace }

    func requestNeedsUserApproval(_ request: OSSystemExtensionRequest) {
        print("netprov: allow the system extension in System Settings > Privacy & Security; activation continues once allowed")
    }

    func request(_ request: OSSystemExtensionRequest, didFinishWithResult result: OSSystemExtensionRequest.Result) {
        if result == .willCompleteAfterReboot { fail("the extension is activated after a reboot; run again then") }
        configureFilter(enabled: true)
    }

    func request(_ request: OSSystemExtensionRequest, didFailWithError error: Error) {
        fail("activation failed (\(error.localizedDescription))")
    }
}

// The request holds its delegate weakly: this one lives as long as the process.
let activation = Activation()
if CommandLine.arguments.contains("--disable") {
    configureFilter(enabled: false)
} else {
    let request = OSSystemExtensionRequest.activationRequest(forExtensionWithIdentifier: extensionIdentifier, queue: .main)
    request.delegate = activation
    OSSystemExtensionManager.shared.submitRequest(request)
}
dispatchMain()
