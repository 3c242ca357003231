/**
 * The macOS build cannot run here, so what it is made of is checked here: the XcodeGen spec
 * (sysex/macos/project.yml), the Info.plists, entitlements, the MDM profile, the Makefile and the
 * macOS workflow must parse and agree with each other and with the Swift sources on every name the
 * system matches at run time — bundle identifiers, the bundle layout, provider classes, Mach
 * service names, the XPC client's signing identifier. A rename on one side only fails here.
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import plist from 'plist';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../helpers/paths.js';

const macos = join(repoRoot, 'sysex/macos');
const text = (path: string) => readFileSync(join(macos, path), 'utf8');
const plistAt = (path: string) => plist.parse(text(path)) as Record<string, any>;

interface Target {
  type: string;
  sources: (string | { path: string })[];
  settings: { base: Record<string, string> };
  dependencies?: { target?: string; sdk?: string; embed?: boolean; copy?: { destination: string; subpath?: string } }[];
}
const spec = parseYaml(text('project.yml')) as { settings: { base: Record<string, string> }; targets: Record<string, Target>; schemes: any };
const targets = spec.targets;
const setting = (target: string, key: string) => targets[target].settings.base[key] ?? spec.settings.base[key];
const swiftFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? swiftFiles(path) : name.endsWith('.swift') ? [path] : [];
  });

describe('sysex/macos/project.yml', () => {
  it('builds the app, the extension and the client from sources that exist, every Swift file in one target', () => {
    expect(Object.keys(targets).sort()).toEqual(['CNetprov', 'Netprov', 'NetprovClient', 'NetprovSysex', 'NetprovXPC']);
    expect(targets.Netprov.type).toBe('application');
    expect(targets.NetprovSysex.type).toBe('system-extension');
    expect(targets.NetprovClient.type).toBe('tool');
    const owned: string[] = [];
    for (const target of Object.values(targets)) {
      for (const source of target.sources) {
        const dir = join(macos, typeof source === 'string' ? source : source.path);
        expect(existsSync(dir), dir).toBe(true);
        owned.push(...swiftFiles(dir));
      }
    }
    expect(owned.sort()).toEqual(swiftFiles(join(macos, 'Sources')).sort());
    expect(new Set(owned).size).toBe(owned.length);
    expect(spec.schemes.Netprov.build.targets).toHaveProperty('Netprov');
  });

  it('embeds the extension under Contents/Library/SystemExtensions and the client beside the app', () => {
    const deps = targets.Netprov.dependencies ?? [];
    const sysex = deps.find((d) => d.target === 'NetprovSysex');
    expect(sysex?.embed).toBe(true);
    expect(sysex?.copy).toEqual({ destination: 'productsDirectory', subpath: '$(SYSTEM_EXTENSIONS_FOLDER_PATH)' });
    expect(deps.find((d) => d.target === 'NetprovClient')?.copy?.destination).toBe('executables');
    // The system finds an extension by bundle name = identifier + .systemextension.
    expect(setting('NetprovSysex', 'PRODUCT_NAME')).toBe(setting('NetprovSysex', 'PRODUCT_BUNDLE_IDENTIFIER'));
    expect(targets.NetprovSysex.dependencies?.map((d) => d.target ?? d.sdk)).toEqual(
      expect.arrayContaining(['CNetprov', 'NetprovXPC', 'libEndpointSecurity.tbd', 'NetworkExtension.framework']));
    // The Makefile checks the same layout after each build on a Mac.
    const makefile = text('Makefile');
    expect(makefile).toContain(`Contents/Library/SystemExtensions/${setting('NetprovSysex', 'PRODUCT_BUNDLE_IDENTIFIER')}.systemextension`);
    expect(makefile).toContain(`Contents/MacOS/${setting('NetprovClient', 'PRODUCT_NAME')}`);
    expect(makefile).toMatch(/CODE_SIGNING_ALLOWED=NO/);
  });

  it('signs with the hardened runtime, the entitlements files and profiles from build settings, no team written in', () => {
    expect(spec.settings.base.ENABLE_HARDENED_RUNTIME).toBe('YES');
    expect(spec.settings.base.DEVELOPMENT_TEAM).toBe('$(NETPROV_TEAM_ID)');
    expect(setting('Netprov', 'PROVISIONING_PROFILE_SPECIFIER')).toBe('$(NETPROV_APP_PROFILE)');
    expect(setting('NetprovSysex', 'PROVISIONING_PROFILE_SPECIFIER')).toBe('$(NETPROV_SYSEX_PROFILE)');
    for (const target of ['Netprov', 'NetprovSysex']) {
      expect(plistAt(setting(target, 'CODE_SIGN_ENTITLEMENTS'))).toBeTruthy();
      expect(plistAt(setting(target, 'INFOPLIST_FILE')).CFBundleIdentifier).toBe('$(PRODUCT_BUNDLE_IDENTIFIER)');
    }
    const app = plistAt(setting('Netprov', 'CODE_SIGN_ENTITLEMENTS'));
    const sysex = plistAt(setting('NetprovSysex', 'CODE_SIGN_ENTITLEMENTS'));
    expect(app['com.apple.developer.system-extension.install']).toBe(true);
    expect(sysex['com.apple.developer.endpoint-security.client']).toBe(true);
    for (const entitlements of [app, sysex]) {
      expect(entitlements['com.apple.developer.networking.networkextension']).toEqual(['content-filter-provider-systemextension']);
    }
  });
});

describe('the names the system matches at run time', () => {
  const sysexInfo = plistAt('Resources/Sysex-Info.plist');
  const sysexId = setting('NetprovSysex', 'PRODUCT_BUNDLE_IDENTIFIER');
  const swift = (path: string) => text(join('Sources', path));

  it('the providers Info.plist names are the Swift classes, of the right kinds', () => {
    const classes = sysexInfo.NetworkExtension.NEProviderClasses;
    expect(classes['com.apple.networkextension.filter-data']).toBe('$(PRODUCT_MODULE_NAME).ContentFilter');
    expect(classes['com.apple.networkextension.filter-packet']).toBe('$(PRODUCT_MODULE_NAME).PacketFilter');
    expect(swift('NetprovSysex/ContentFilter.swift')).toMatch(/final class ContentFilter: NEFilterDataProvider/);
    expect(swift('NetprovSysex/PacketFilter.swift')).toMatch(/final class PacketFilter: NEFilterPacketProvider/);
  });

  it('the Mach services: the XPC one in an app group of the entitlements and where the client looks; the ES one declared', () => {
    const service: string = sysexInfo.NetworkExtension.NEMachServiceName;
    expect(service).toMatch(/^\$\(TeamIdentifierPrefix\)/);
    const groups: string[] = plistAt('Resources/Sysex.entitlements')['com.apple.security.application-groups'];
    expect(groups.some((group) => service.startsWith(group))).toBe(true);
    expect(swift('NetprovXPC/XPCProtocols.swift')).toContain(`"\\(team).${service.replace('$(TeamIdentifierPrefix)', '')}"`);
    expect(sysexInfo.NSEndpointSecurityMachServiceName).toMatch(/^\$\(TeamIdentifierPrefix\)com\.netprov\./);
    expect(sysexInfo.NSEndpointSecurityMachServiceName).not.toBe(service);
  });

  it('the client is signed with the identifier the extension requires of it', () => {
    const identifier = /clientIdentifier = "([^"]+)"/.exec(swift('NetprovXPC/XPCProtocols.swift'))?.[1];
    expect(identifier).toBe('com.netprov.sysex-client');
    expect(setting('NetprovClient', 'OTHER_CODE_SIGN_FLAGS')).toContain(`--identifier ${identifier}`);
    expect(swift('NetprovSysex/RecorderService.swift')).toMatch(/setCodeSigningRequirement\(clientRequirement\)/);
  });

  it('the activator asks for the extension by its bundle identifier', () => {
    expect(swift('NetprovActivate/main.swift')).toContain(`let extensionIdentifier = "${sysexId}"`);
  });

  it('the MDM profile approves that extension, its filters (PluginBundleID, designated requirements) and its Full Disk Access', () => {
    const profile = plistAt('Resources/netprov.mobileconfig');
    const payload = (type: string) => profile.PayloadContent.find((p: any) => p.PayloadType === type);
    expect(payload('com.apple.system-extension-policy').AllowedSystemExtensions.TEAMID).toEqual([sysexId]);
    expect(payload('com.apple.system-extension-policy').AllowedSystemExtensionTypes.TEAMID).toEqual(['NetworkExtension', 'EndpointSecurityExtension']);
    const filter = payload('com.apple.webcontent-filter');
    expect(filter.PluginBundleID).toBe(setting('Netprov', 'PRODUCT_BUNDLE_IDENTIFIER'));
    expect(filter).toMatchObject({ FilterType: 'Plugin', FilterSockets: true, FilterPackets: true });
    for (const provider of ['FilterDataProvider', 'FilterPacketProvider']) {
      expect(filter[`${provider}BundleIdentifier`]).toBe(sysexId);
      expect(filter[`${provider}DesignatedRequirement`]).toContain(`identifier "${sysexId}"`);
    }
    const fullDiskAccess = payload('com.apple.TCC.configuration-profile-policy').Services.SystemPolicyAllFiles[0];
    expect(fullDiskAccess).toMatchObject({ Identifier: sysexId, IdentifierType: 'bundleID', Authorization: 'Allow' });
    const uuids = [profile, ...profile.PayloadContent].map((p: any) => p.PayloadUUID);
    expect(new Set(uuids).size).toBe(uuids.length);
  });

  it('the macOS workflow builds what the Makefile builds', () => {
    const workflow = parseYaml(readFileSync(join(repoRoot, '.github/workflows/macos.yml'), 'utf8'));
    const steps: string[] = workflow.jobs.build.steps.map((s: any) => s.run ?? s.uses);
    expect(workflow.jobs.build['runs-on']).toMatch(/^macos-/);
    expect(steps).toEqual(expect.arrayContaining(['brew install xcodegen', `make -C ${relative(repoRoot, macos)}`]));
  });
});
