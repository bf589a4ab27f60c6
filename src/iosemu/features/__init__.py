"""The features a router is made of, in the order their lines share a running-config slot."""

from __future__ import annotations

from iosemu.device.router import Feature
from iosemu.features import config_store, exec, files, ping  # noqa: F401 - commands only
from iosemu.features.access import Access
from iosemu.features.clock import Clock
from iosemu.features.dns import Dns
from iosemu.features.hsrp import Hsrp
from iosemu.features.http import Http
from iosemu.features.interfaces import Interfaces
from iosemu.features.ip import Ip
from iosemu.features.ipc import Ipc
from iosemu.features.lines import Lines
from iosemu.features.logging import Logging
from iosemu.features.pki.client import PkiClient
from iosemu.features.pki.ha import PkiHa
from iosemu.features.pki.keys import Keys
from iosemu.features.pki.server import CertificateServer
from iosemu.features.pki.trustpoint import Pki
from iosemu.features.platform import Platform
from iosemu.features.redundancy import Redundancy
from iosemu.features.ssh import Ssh
from iosemu.features.system import System
from iosemu.features.tcp import TcpStack
from iosemu.features.users import Users

FEATURE_CLASSES: list[type[Feature]] = [
    Platform,
    System,
    Logging,
    Access,
    Clock,
    Dns,
    Interfaces,
    Ip,
    Hsrp,
    TcpStack,
    Http,
    Ipc,
    Redundancy,
    Keys,
    Pki,
    CertificateServer,
    PkiHa,
    PkiClient,
    Lines,
    Users,
    Ssh,
]
