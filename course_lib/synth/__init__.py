"""The toy sound simulator: machines, urban sounds and dataset writers (chapter 03).

Every chapter of the course runs offline on toy data made here. Chapter 03 introduces the
simulator: how the machine sounds and their faults are built, how factory or street noise is
mixed in at a chosen SNR, and how the datasets are written in the MIMII and UrbanSound8K
layouts so that toy and real data load alike.

>>> from course_lib import synth
>>> y = synth.machine_sound("fan", machine_id="id_02", fault="bearing", severity=0.8, seed=1)
"""

from course_lib.synth.machines import (
    MACHINE_IDS,
    MACHINES,
    MachineParts,
    fault_description,
    machine_parts,
    machine_sound,
)
from course_lib.synth.noise import factory_noise, scale_to_snr, snr_db, street_noise
from course_lib.synth.seeds import derive_seed
from course_lib.synth.staging import GENERATOR_VERSION, is_complete, read_marker
from course_lib.synth.urban import URBAN_CLASSES, urban_sound
from course_lib.synth.writer import (
    MIMII_DIR,
    URBAN_DIR,
    machine_dataset_parameters,
    make_machine_dataset,
    make_urban_dataset,
    urban_dataset_parameters,
)

__all__ = [
    "GENERATOR_VERSION", "MACHINES", "MACHINE_IDS", "MIMII_DIR", "URBAN_CLASSES", "URBAN_DIR",
    "MachineParts", "derive_seed", "factory_noise", "fault_description", "is_complete",
    "machine_dataset_parameters", "machine_parts", "machine_sound", "make_machine_dataset",
    "make_urban_dataset", "read_marker", "scale_to_snr", "snr_db", "street_noise",
    "urban_dataset_parameters", "urban_sound",
]
