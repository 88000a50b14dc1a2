"""Support mode: a seller's report in, ranked causes, a reproduction and a reply draft out."""
