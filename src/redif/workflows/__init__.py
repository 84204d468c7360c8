"""Workflows: read files, run the engines, write files.

The engines (:mod:`redif.dosimetry`, ...) are pure and the readers and writers (:mod:`redif.io`) know no
engine; a workflow composes them for one job that starts and ends in files (a voxel-dosimetry case from
DICOM to dose maps, the synthetic phantom written as DICOM, a batch of voxel cases). Layer: the same as
:mod:`redif.pathway` (it composes engines; the interfaces call it).
"""
