#!/bin/sh
echo hi

